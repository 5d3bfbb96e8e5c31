import { expect } from 'chai';
import { backupNameAt, backupsIn, BackupError, chooseBackup, dumpKey, manifestKey, retentionVictims } from '../../../service/backup/backups.js';

const at = (key: string) => ({ key, lastModified: new Date(0) });
const location = { bucket: 'b', prefix: 'apps/one' };

describe('backups', () => {
  it('names a backup after its UTC start time and lays it out under the prefix', () => {
    const name = backupNameAt(new Date('2026-12-02T03:15:07.123Z'));
    expect(name).to.equal('20261202T031507Z');
    expect(dumpKey(location, name)).to.equal('apps/one/20261202T031507Z.pgdump');
    expect(manifestKey({ bucket: 'b', prefix: '' }, name)).to.equal('20261202T031507Z.json');
  });

  it('lists complete backups (dump and manifest) apart from dumps without a manifest, ignoring other keys and prefixes', () => {
    const listing = backupsIn(location, [
      at('apps/one/20261201T030000Z.pgdump'),
      at('apps/one/20261201T030000Z.json'),
      at('apps/one/20261202T030000Z.pgdump'),
      at('apps/one/20261130T030000Z.json'),
      at('apps/one-other/20261203T030000Z.pgdump'),
      at('apps/one/20261203T030000Z.json'),
      at('apps/one/20261203T030000Z.pgdump'),
      at('apps/one/notes.txt'),
    ]);
    expect(listing).to.deep.equal({ complete: ['20261201T030000Z', '20261203T030000Z'], incomplete: ['20261202T030000Z'] });
  });

  it('chooses the newest complete backup for latest, a named one as asked, and names what is missing', () => {
    expect(chooseBackup(['20261201T030000Z', '20261203T030000Z'], 'latest', 'here')).to.equal('20261203T030000Z');
    expect(chooseBackup(['20261201T030000Z', '20261203T030000Z'], '20261201T030000Z', 'here')).to.equal('20261201T030000Z');
    expect(() => chooseBackup([], 'latest', 's3://b/apps/one')).to.throw(BackupError, 'no complete backup in s3://b/apps/one');
    expect(() => chooseBackup(['20261201T030000Z'], '20261202T030000Z', 'here')).to.throw(/backup 20261202T030000Z is not in here .*20261201T030000Z/);
  });

  describe('retention', () => {
    const complete = ['20261201T030000Z', '20261202T030000Z', '20261203T030000Z', '20261204T030000Z'];
    const now = new Date('2026-12-04T03:05:00Z');

    it('by count keeps the newest, deleting the rest', () => {
      expect(retentionVictims({ complete, incomplete: [] }, { count: 2 }, '20261204T030000Z', now)).to.deep.equal(['20261201T030000Z', '20261202T030000Z']);
      expect(retentionVictims({ complete, incomplete: [] }, { count: 10 }, '20261204T030000Z', now)).to.deep.equal([]);
    });

    it('by days deletes what is older, but never the newest backup', () => {
      expect(retentionVictims({ complete, incomplete: [] }, { days: 2 }, '20261204T030000Z', now)).to.deep.equal(['20261201T030000Z', '20261202T030000Z']);
      expect(retentionVictims({ complete, incomplete: [] }, { days: 3 }, '20261204T030000Z', now)).to.deep.equal(['20261201T030000Z']);
      const old = ['20250101T000000Z', '20250102T000000Z'];
      expect(retentionVictims({ complete: old, incomplete: [] }, { days: 1 }, '20250102T000000Z', now)).to.deep.equal(['20250101T000000Z']);
    });

    it('deletes the dumps of failed runs older than the backup just made, never a newer one', () => {
      const victims = retentionVictims({ complete, incomplete: ['20261202T120000Z', '20261205T000000Z'] }, { count: 4 }, '20261204T030000Z', now);
      expect(victims).to.deep.equal(['20261202T120000Z']);
    });
  });
});
