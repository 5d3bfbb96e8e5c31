import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError, FILE_VARIABLES, loadConfig } from '../../service/config.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('loadConfig: secrets from files (<NAME>_FILE)', () => {
  let dir: string;
  const file = (name: string, content: string, mode = 0o400): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    chmodSync(path, mode);
    return path;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'graminsta-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every secret of api mode from files, dropping trailing newlines, and keeps them out of the variables', () => {
    const env = {
      GRAMINSTA_DB_HOST: 'db-rw',
      GRAMINSTA_DB_PASSWORD_FILE: file('db', 'db-pw\n'),
      GRAMINSTA_TOKEN_SECRET_FILE: file('token', 'a-token-secret-of-16+'),
      GRAMINSTA_REDIS_MODE: 'standalone',
      GRAMINSTA_REDIS_NODES: 'redis:6379',
      GRAMINSTA_REDIS_PASSWORD_FILE: file('redis', 'redis-pw\r\n'),
      GRAMINSTA_STORAGE: 's3',
      GRAMINSTA_S3_BUCKET: 'photos',
      AWS_ACCESS_KEY_ID_FILE: file('id', 'AKIA'),
      AWS_SECRET_ACCESS_KEY_FILE: file('key', 'sekrit\n'),
    };
    const cfg = loadConfig(env, 'api');
    expect(cfg.db.password).to.equal('db-pw');
    expect(cfg.tokenSecret).to.equal('a-token-secret-of-16+');
    expect(cfg.redis.password).to.equal('redis-pw');
    expect(cfg.storage.s3.credentials).to.deep.equal({ accessKeyId: 'AKIA', secretAccessKey: 'sekrit' });
  });

  it('reads the origin tokens of sync-images and origin mode from files', () => {
    const token = file('origin', 'origin-token\n');
    expect(loadConfig({ GRAMINSTA_ORIGIN_TOKEN_FILE: token }, 'origin').storage.originToken).to.equal('origin-token');
    const cfg = loadConfig(
      {
        GRAMINSTA_DB_HOST: 'db',
        GRAMINSTA_DB_PASSWORD: 'plain',
        GRAMINSTA_STORAGE: 'origin',
        GRAMINSTA_ORIGIN_URL: 'http://origin',
        GRAMINSTA_ORIGIN_TOKEN_FILE: token,
        GRAMINSTA_SYNC_FROM_STORAGE: 'origin',
        GRAMINSTA_SYNC_FROM_ORIGIN_URL: 'http://old',
        GRAMINSTA_SYNC_FROM_ORIGIN_TOKEN_FILE: file('old', 'old-token'),
      },
      'sync-images',
    );
    expect(cfg.db.password).to.equal('plain');
    expect(cfg.syncFrom?.originToken).to.equal('old-token');
  });

  it('names the variable when its file is missing, unreadable or empty, or when both forms are set', () => {
    const base = { GRAMINSTA_DB_HOST: 'db', GRAMINSTA_TOKEN_SECRET: 'a-token-secret-of-16+' };
    const missing = join(dir, 'absent');
    expect(() => loadConfig({ ...base, GRAMINSTA_DB_PASSWORD_FILE: missing }, 'api')).to.throw(ConfigError, `GRAMINSTA_DB_PASSWORD_FILE: cannot read ${missing} (ENOENT)`);
    expect(() => loadConfig({ ...base, GRAMINSTA_DB_PASSWORD_FILE: dir }, 'api')).to.throw(ConfigError, /GRAMINSTA_DB_PASSWORD_FILE: cannot read .* \(EISDIR\)/);
    expect(() => loadConfig({ ...base, GRAMINSTA_DB_PASSWORD_FILE: file('empty', '\n') }, 'api')).to.throw(ConfigError, /GRAMINSTA_DB_PASSWORD_FILE: .* is empty/);
    expect(() => loadConfig({ ...base, GRAMINSTA_DB_PASSWORD: 'x', GRAMINSTA_DB_PASSWORD_FILE: file('db', 'y') }, 'api')).to.throw(ConfigError, 'GRAMINSTA_DB_PASSWORD and GRAMINSTA_DB_PASSWORD_FILE are both set');
    expect(() => loadConfig({ ...base }, 'api')).to.throw(ConfigError, 'GRAMINSTA_DB_PASSWORD is required (or GRAMINSTA_DB_PASSWORD_FILE');
    expect(() => loadConfig({ ...base, GRAMINSTA_DB_PASSWORD: 'x', GRAMINSTA_STORAGE: 's3', GRAMINSTA_S3_BUCKET: 'b', AWS_ACCESS_KEY_ID_FILE: file('id', 'a') }, 'api')).to.throw(
      ConfigError,
      'AWS_ACCESS_KEY_ID_FILE and AWS_SECRET_ACCESS_KEY_FILE go together',
    );
  });

  it('refuses a file the process may not read, naming the variable', function () {
    const path = file('locked', 'pw', 0o000);
    const env = { GRAMINSTA_DB_HOST: 'db', GRAMINSTA_DB_PASSWORD_FILE: path, GRAMINSTA_TOKEN_SECRET: 'a-token-secret-of-16+' };
    const refusal = /GRAMINSTA_DB_PASSWORD_FILE: cannot read .* \(EACCES\)/;
    if (process.getuid?.() !== 0) {
      expect(() => loadConfig(env, 'api')).to.throw(ConfigError, refusal);
      return;
    }
    // Root reads any file through CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH, so the load runs in a child without them.
    this.timeout(30_000);
    const load = `import { loadConfig } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'service', 'config.ts')).href)};
      try { loadConfig(${JSON.stringify(env)}, 'api'); console.log('loaded'); } catch (err) { console.log(err.constructor.name + ': ' + err.message); }`;
    const drop = '-dac_override,-dac_read_search';
    const child = spawnSync('setpriv', [`--bounding-set=${drop}`, `--inh-caps=${drop}`, process.execPath, '--import', 'tsx', '--input-type=module', '-e', load], { cwd: repoRoot, encoding: 'utf8' });
    expect(child.error, 'setpriv (util-linux) runs').to.equal(undefined);
    expect(child.stderr).to.equal('');
    expect(child.stdout).to.match(/^ConfigError: /).and.match(refusal);
  });

  it('uses the reader it is given, and reads only the variables that are secrets', () => {
    const read: string[] = [];
    const cfg = loadConfig({ GRAMINSTA_DB_HOST: 'db', GRAMINSTA_DB_PASSWORD_FILE: '/s/db', GRAMINSTA_TOKEN_SECRET_FILE: '/s/t', GRAMINSTA_DB_HOST_FILE: '/s/host' }, 'api', (p) => {
      read.push(p);
      return p === '/s/db' ? 'pw' : 'a-token-secret-of-16+';
    });
    expect(read).to.deep.equal(['/s/db', '/s/t']);
    expect(cfg.db.host).to.equal('db');
    expect(FILE_VARIABLES).to.include.members(['GRAMINSTA_DB_PASSWORD', 'GRAMINSTA_REDIS_PASSWORD', 'GRAMINSTA_TOKEN_SECRET', 'AWS_SECRET_ACCESS_KEY']);
  });
});
