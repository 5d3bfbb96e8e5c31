// Pure: the BackupReady and Restored conditions and status.database.lastBackup, from the backup CronJob, its Jobs
// and pods, and the primary pod's restore init container. The containers say what happened in their termination
// message, `<Reason>: <text>` (service/backup: BackupSucceeded, BackupNotFound, BucketUnreachable, ...).
import type { V1ContainerStatus, V1CronJob, V1Job, V1Pod } from '@kubernetes/client-node';
import type { TierState } from './status.reconcile.js';

/** A condition's status, reason and message; Unknown while a restore is under way. */
export type ConditionState = Omit<TierState, 'status'> & { status: 'True' | 'False' | 'Unknown' };

/** What the reconciler observed of the app's backups. */
export interface BackupObservation {
  cronJob?: V1CronJob;
  /** The Jobs the CronJob made (the cached ones of component backup). */
  jobs: V1Job[];
  /** Their pods. */
  pods: V1Pod[];
  /** Why the credentials Secret cannot work (missing, or without a key), as the operator checked it; undefined when it can. */
  credentialsProblem?: string;
}

/** What the reconciler observed of a restore (spec.database.restoreFrom). */
export interface RestoreObservation {
  /** The primary's pod (the single-machine pod at that stage). */
  pod?: V1Pod;
  credentialsProblem?: string;
}

const MESSAGE = /^([A-Z][A-Za-z]+): ([\s\S]*)$/;

/** The reason and text of a termination message `<Reason>: <text>`; undefined for another text. */
export function parseTerminationMessage(message: string | undefined): { reason: string; text: string } | undefined {
  const m = MESSAGE.exec((message ?? '').trim());
  return m ? { reason: m[1]!, text: m[2]!.split('\n')[0]!.slice(0, 1000) } : undefined;
}

function finished(job: V1Job): 'succeeded' | 'failed' | undefined {
  const conditions = job.status?.conditions ?? [];
  if (conditions.some((c) => c.type === 'Complete' && c.status === 'True')) return 'succeeded';
  if (conditions.some((c) => c.type === 'Failed' && c.status === 'True')) return 'failed';
  return undefined;
}

/** The termination message of a container of the Job's pods, newest pod first: what the failure or success was. */
function jobMessage(job: V1Job, pods: readonly V1Pod[], container: string): { reason: string; text: string } | undefined {
  const own = pods
    .filter((p) => p.metadata?.labels?.['job-name'] === job.metadata?.name)
    .sort((a, b) => String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')));
  for (const pod of own) {
    const status = pod.status?.containerStatuses?.find((c) => c.name === container);
    const parsed = parseTerminationMessage(status?.state?.terminated?.message ?? status?.lastState?.terminated?.message);
    if (parsed) return parsed;
  }
  return undefined;
}

/** The later of two ISO times (either may be missing). */
function later(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

/**
 * BackupReady and lastBackup: the last finished backup Job decides (failed: why, from its pod; succeeded: when);
 * a credentials Secret the operator found unusable says so first. lastBackup is the latest of the CronJob's
 * lastSuccessfulTime and the completion of its succeeded Jobs, never older than the one recorded before.
 */
export function backupState(o: BackupObservation, previousLastBackup: string | undefined): { condition: TierState; lastBackup?: string } {
  // The CronJob's lastSuccessfulTime counts only the Jobs it scheduled; a Job made by hand from it (kubectl create job --from) counts too.
  const iso = (t: Date | string | undefined) => (t === undefined ? undefined : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  const completions = o.jobs.filter((j) => finished(j) === 'succeeded').map((j) => iso(j.status?.completionTime));
  const lastBackup = [iso(o.cronJob?.status?.lastSuccessfulTime), ...completions].reduce(later, previousLastBackup);
  const out = (condition: TierState) => ({ condition, ...(lastBackup ? { lastBackup } : {}) });
  if (o.credentialsProblem) return out({ status: 'False', reason: 'BackupCredentialsInvalid', message: o.credentialsProblem });
  const done = o.jobs
    .filter((j) => finished(j))
    .sort((a, b) => String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')) || (b.metadata?.name ?? '').localeCompare(a.metadata?.name ?? ''));
  const last = done[0];
  if (last && finished(last) === 'failed') {
    const why = jobMessage(last, o.pods, 'upload');
    const condition = last.status?.conditions?.find((c) => c.type === 'Failed');
    const detail = why ? `${why.reason}: ${why.text}` : `${condition?.reason ?? 'Failed'}: ${condition?.message ?? 'see the logs of its pods (containers dump and upload)'}`;
    return out({ status: 'False', reason: why?.reason && why.reason !== 'Failed' ? why.reason : 'BackupFailed', message: `backup Job ${last.metadata?.name} failed: ${detail}` });
  }
  if (last) {
    const what = jobMessage(last, o.pods, 'upload');
    return out({ status: 'True', reason: 'BackupSucceeded', message: what?.text ?? `backup Job ${last.metadata?.name} succeeded` });
  }
  if (lastBackup) return out({ status: 'True', reason: 'BackupSucceeded', message: `the last backup completed at ${lastBackup}` });
  return out({ status: 'True', reason: 'Scheduled', message: `no backup has run yet; the schedule is ${o.cronJob?.spec?.schedule ?? 'not applied yet'}` });
}

function restoreStatus(pod: V1Pod | undefined): V1ContainerStatus | undefined {
  return pod?.status?.initContainerStatuses?.find((c) => c.name === 'restore');
}

/**
 * Restored: the restore init container's last word. Restoring (fetched, Postgres loads it) turns True once the
 * database container is ready; DatabaseExists is False (nothing was restored, nothing overwritten); a failure says
 * why (BackupNotFound, BucketUnreachable, CredentialsRejected, ...). Without a word yet, the previous condition stays.
 */
export function restoreState(o: RestoreObservation, previous: ConditionState | undefined): ConditionState {
  if (o.credentialsProblem) return { status: 'False', reason: 'RestoreCredentialsInvalid', message: o.credentialsProblem };
  const status = restoreStatus(o.pod);
  const current = status?.state?.terminated;
  const word = parseTerminationMessage(current?.message ?? status?.lastState?.terminated?.message);
  const failedBefore = !current && status?.lastState?.terminated && status.lastState.terminated.exitCode !== 0;
  if (word && (failedBefore || (current && current.exitCode !== 0))) {
    return { status: 'False', reason: word.reason === 'Failed' ? 'RestoreFailed' : word.reason, message: `the restore of the backup failed: ${word.text}` };
  }
  if (word?.reason === 'DatabaseExists') return { status: 'False', reason: 'DatabaseExists', message: word.text };
  if (word?.reason === 'Restored') return { status: 'True', reason: 'Restored', message: word.text };
  if (word?.reason === 'Restoring') {
    const postgres = [...(o.pod?.status?.containerStatuses ?? []), ...(o.pod?.status?.initContainerStatuses ?? [])].find((c) => c.name === 'postgres');
    if (postgres?.ready) return { status: 'True', reason: 'Restored', message: word.text.replace(/ is being loaded$/, '') };
    return { status: 'Unknown', reason: 'Restoring', message: word.text };
  }
  return previous ?? { status: 'Unknown', reason: 'Pending', message: 'waiting for the primary to fetch the backup' };
}
