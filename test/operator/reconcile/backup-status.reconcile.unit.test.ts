import { expect } from 'chai';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { backupState, parseTerminationMessage, restoreState } from '../../../operator/reconcile/backup-status.reconcile.js';

function job(name: string, created: string, outcome: 'Complete' | 'Failed' | 'running'): V1Job {
  return {
    metadata: { name, creationTimestamp: created as unknown as Date },
    status: outcome === 'running' ? {} : { conditions: [{ type: outcome, status: 'True', reason: outcome === 'Failed' ? 'BackoffLimitExceeded' : undefined, message: outcome === 'Failed' ? 'Job has reached the specified backoff limit' : undefined }] },
  } as V1Job;
}

function jobPod(jobName: string, message: string, exitCode: number): V1Pod {
  return {
    metadata: { name: `${jobName}-abcde`, labels: { 'job-name': jobName }, creationTimestamp: '2026-12-02T03:00:01Z' as unknown as Date },
    status: { containerStatuses: [{ name: 'upload', image: 'svc', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode, message } } }] },
  } as V1Pod;
}

function primaryPod(restore: { exitCode: number; message: string; current: boolean }, postgresReady = false): V1Pod {
  const terminated = { exitCode: restore.exitCode, message: restore.message };
  return {
    metadata: { name: 'graminsta-db-0' },
    status: {
      initContainerStatuses: [
        restore.current
          ? { name: 'restore', image: 'svc', imageID: '', ready: false, restartCount: 0, state: { terminated } }
          : { name: 'restore', image: 'svc', imageID: '', ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated } },
      ],
      containerStatuses: [{ name: 'postgres', image: 'pg', imageID: '', ready: postgresReady, restartCount: 0 }],
    },
  } as V1Pod;
}

describe('backup-status.reconcile', () => {
  it('parses `<Reason>: <text>` termination messages, first line only', () => {
    expect(parseTerminationMessage('BucketUnreachable: cannot reach s3://b\nmore')).to.deep.equal({ reason: 'BucketUnreachable', text: 'cannot reach s3://b' });
    expect(parseTerminationMessage('plain text')).to.equal(undefined);
    expect(parseTerminationMessage(undefined)).to.equal(undefined);
  });

  describe('backupState', () => {
    it('is Scheduled before the first backup, without lastBackup', () => {
      const s = backupState({ cronJob: { spec: { schedule: '0 3 * * *', jobTemplate: {} } }, jobs: [], pods: [] }, undefined);
      expect(s).to.deep.equal({ condition: { status: 'True', reason: 'Scheduled', message: 'no backup has run yet; the schedule is 0 3 * * *' } });
    });

    it('takes lastBackup from the CronJob and says what the last successful backup stored', () => {
      const s = backupState(
        { cronJob: { spec: { schedule: '@daily', jobTemplate: {} }, status: { lastSuccessfulTime: new Date('2026-12-02T03:00:12Z') } }, jobs: [job('graminsta-backup-1', '2026-12-02T03:00:00Z', 'Complete')], pods: [jobPod('graminsta-backup-1', 'BackupSucceeded: backup 20261202T030001Z (123 bytes) in s3://b/p', 0)] },
        '2026-12-01T03:00:09Z',
      );
      expect(s.lastBackup).to.equal('2026-12-02T03:00:12Z');
      expect(s.condition).to.deep.equal({ status: 'True', reason: 'BackupSucceeded', message: 'backup 20261202T030001Z (123 bytes) in s3://b/p' });
    });

    it('counts a succeeded Job made by hand from the CronJob (not in its lastSuccessfulTime)', () => {
      const manual = { ...job('graminsta-backup-manual', '2026-12-03T10:00:00Z', 'Complete') };
      manual.status = { ...manual.status, completionTime: new Date('2026-12-03T10:00:07Z') };
      const s = backupState({ cronJob: { spec: { schedule: '@daily', jobTemplate: {} }, status: { lastSuccessfulTime: new Date('2026-12-02T03:00:12Z') } }, jobs: [manual], pods: [] }, undefined);
      expect(s.lastBackup).to.equal('2026-12-03T10:00:07Z');
    });

    it('is False naming the problem when the newest finished backup failed, and keeps the last good time', () => {
      const s = backupState(
        {
          jobs: [job('graminsta-backup-1', '2026-12-01T03:00:00Z', 'Complete'), job('graminsta-backup-2', '2026-12-02T03:00:00Z', 'Failed'), job('graminsta-backup-3', '2026-12-03T03:00:00Z', 'running')],
          pods: [jobPod('graminsta-backup-2', 'BucketUnreachable: while listing the backups: cannot reach s3://backups/p at http://10.0.0.1:9000: ECONNREFUSED', 1)],
        },
        '2026-12-01T03:00:09Z',
      );
      expect(s.lastBackup).to.equal('2026-12-01T03:00:09Z');
      expect(s.condition.status).to.equal('False');
      expect(s.condition.reason).to.equal('BucketUnreachable');
      expect(s.condition.message).to.match(/^backup Job graminsta-backup-2 failed: BucketUnreachable: .*ECONNREFUSED/);
    });

    it('falls back to the Job condition when no pod says why', () => {
      const s = backupState({ jobs: [job('graminsta-backup-2', '2026-12-02T03:00:00Z', 'Failed')], pods: [] }, undefined);
      expect(s.condition).to.deep.equal({ status: 'False', reason: 'BackupFailed', message: 'backup Job graminsta-backup-2 failed: BackoffLimitExceeded: Job has reached the specified backoff limit' });
    });

    it('reports a credentials Secret the operator found unusable before anything else', () => {
      const s = backupState({ jobs: [job('graminsta-backup-1', '2026-12-01T03:00:00Z', 'Complete')], pods: [], credentialsProblem: 'spec.database.backup.destination.s3.credentialsSecret: Secret photos/backup-s3 does not exist' }, undefined);
      expect(s.condition).to.deep.equal({ status: 'False', reason: 'BackupCredentialsInvalid', message: 'spec.database.backup.destination.s3.credentialsSecret: Secret photos/backup-s3 does not exist' });
    });
  });

  describe('restoreState', () => {
    it('is Unknown while Postgres loads the fetched backup, True once it is ready', () => {
      const msg = 'Restoring: backup 20261202T030001Z from s3://b/p is being loaded';
      expect(restoreState({ pod: primaryPod({ exitCode: 0, message: msg, current: true }) }, undefined)).to.deep.equal({ status: 'Unknown', reason: 'Restoring', message: 'backup 20261202T030001Z from s3://b/p is being loaded' });
      expect(restoreState({ pod: primaryPod({ exitCode: 0, message: msg, current: true }, true) }, undefined)).to.deep.equal({ status: 'True', reason: 'Restored', message: 'backup 20261202T030001Z from s3://b/p' });
      expect(restoreState({ pod: primaryPod({ exitCode: 0, message: 'Restored: backup 20261202T030001Z from s3://b/p', current: true }) }, undefined).status).to.equal('True');
    });

    it('says so when the volume already held a database (nothing restored, nothing overwritten)', () => {
      const s = restoreState({ pod: primaryPod({ exitCode: 0, message: 'DatabaseExists: the volume already holds a database, so no backup was restored (a restore never overwrites a database)', current: true }) }, undefined);
      expect(s.status).to.equal('False');
      expect(s.reason).to.equal('DatabaseExists');
      expect(s.message).to.contain('never overwrites');
    });

    it('names why the restore step fails (backup not found, bucket unreachable) while it crash-loops', () => {
      const s = restoreState({ pod: primaryPod({ exitCode: 1, message: 'BackupNotFound: backup 20200101T000000Z is not in s3://b/p', current: false }) }, undefined);
      expect(s).to.deep.equal({ status: 'False', reason: 'BackupNotFound', message: 'the restore of the backup failed: backup 20200101T000000Z is not in s3://b/p' });
    });

    it('keeps the previous condition while the pod says nothing, and reports bad credentials first', () => {
      const previous = { status: 'True' as const, reason: 'Restored', message: 'backup x' };
      expect(restoreState({}, previous)).to.deep.equal(previous);
      expect(restoreState({}, undefined).status).to.equal('Unknown');
      expect(restoreState({ credentialsProblem: 'spec.database.restoreFrom.s3.credentialsSecret: Secret photos/s lacks the key(s) AWS_SECRET_ACCESS_KEY' }, previous).reason).to.equal('RestoreCredentialsInvalid');
    });
  });
});
