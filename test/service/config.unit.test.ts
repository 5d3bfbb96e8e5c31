import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../service/config.js';

const API = { GRAMINSTA_DB_HOST: 'db-rw', GRAMINSTA_DB_PASSWORD: 'pw', GRAMINSTA_TOKEN_SECRET: 'a-secret-of-16-chars' };

function fails(env: Record<string, string | undefined>, message: RegExp | string, mode?: string): void {
  expect(() => loadConfig(env, mode)).to.throw(ConfigError, message);
}

describe('loadConfig', () => {
  describe('defaults', () => {
    it('fills every documented default in api mode', () => {
      const cfg = loadConfig(API);
      expect(cfg).to.deep.equal({
        mode: 'api',
        port: 8080,
        metricsPort: 9090,
        exporter: null,
        db: { host: 'db-rw', port: 5432, name: 'graminsta', user: 'graminsta', password: 'pw', tls: { mode: 'disable', rootCertPath: '' }, replicas: [], poolSize: 10, retrySeconds: 20, queryTimeoutMs: 10000 },
        redis: { mode: 'none', nodes: [], password: '' },
        cacheTtlSeconds: 30,
        nearCache: { maxAgeMs: 30000, maxEntries: 20000 },
        storage: { kind: 'volume', volumePath: '/data/images', originUrl: '', originToken: '', s3: { bucket: '', region: 'us-east-1', endpoint: '', forcePathStyle: false } },
        cdnBaseUrl: '',
        publicApiUrl: '',
        tokenSecret: 'a-secret-of-16-chars',
        maxUploadBytes: 10485760,
        logLevel: 'info',
        webRoot: '',
        shutdownDelaySeconds: 5,
        maxConnectionAgeSeconds: 10,
        http: { headersTimeoutMs: 10000, requestTimeoutMs: 60000, keepAliveTimeoutMs: 65000 },
        trustProxyHops: 0,
        rateLimits: {
          enabled: false,
          login: { perIP: 30, perAccount: 10, windowSeconds: 60 },
          signup: { perIP: 10, perAccount: 0, windowSeconds: 3600 },
          uploads: { perIP: 120, perAccount: 60, windowSeconds: 60 },
        },
        syncFrom: null,
        backup: null,
        hygiene: { hashConcurrency: 2, hashQueue: 64, maxOpenUploads: 20, uploadTtlSeconds: 3600, sweepIntervalSeconds: 300 },
      });
    });
    it('sizes the password-hash concurrency from the libuv pool, leaving two threads, and names a bad value', () => {
      expect(loadConfig({ ...API, UV_THREADPOOL_SIZE: '8' }).hygiene.hashConcurrency).to.equal(6);
      expect(loadConfig({ ...API, UV_THREADPOOL_SIZE: '2' }).hygiene.hashConcurrency).to.equal(1);
      expect(loadConfig({ ...API, GRAMINSTA_HASH_CONCURRENCY: '3' }).hygiene.hashConcurrency).to.equal(3);
      expect(() => loadConfig({ ...API, GRAMINSTA_HASH_CONCURRENCY: '0' })).to.throw(/GRAMINSTA_HASH_CONCURRENCY must be between 1/);
      expect(() => loadConfig({ ...API, GRAMINSTA_UPLOAD_TTL_SECONDS: 'soon' })).to.throw(/GRAMINSTA_UPLOAD_TTL_SECONDS must be an integer/);
    });
    it('treats empty strings as unset', () => {
      expect(loadConfig({ ...API, PORT: '', GRAMINSTA_DB_NAME: '', LOG_LEVEL: '' })).to.include({ port: 8080, logLevel: 'info' });
    });
    it('needs nothing in web mode', () => {
      expect(loadConfig({}, 'web')).to.include({ mode: 'web', tokenSecret: '' });
    });
  });

  describe('mode', () => {
    it('takes argv over GRAMINSTA_MODE', () => {
      expect(loadConfig({ GRAMINSTA_MODE: 'api' }, 'web').mode).to.equal('web');
      expect(loadConfig({ GRAMINSTA_MODE: 'web' }).mode).to.equal('web');
    });
    it('refuses an unknown mode, naming both places', () => {
      fails({ GRAMINSTA_MODE: 'worker' }, /mode must be one of api, web, migrate, origin, sync-images, exporter, backup, restore \(argv\[2\] or GRAMINSTA_MODE\), got "worker"/);
      fails({}, /got "API"/, 'API');
    });
  });

  describe('ports and integers', () => {
    it('parses PORT, including 0 for an ephemeral port', () => {
      expect(loadConfig({ PORT: '9191' }, 'web').port).to.equal(9191);
      expect(loadConfig({ PORT: '0' }, 'web').port).to.equal(0);
    });
    it('serves metrics on GRAMINSTA_METRICS_PORT (9090), which must not be the public port', () => {
      expect(loadConfig({ GRAMINSTA_METRICS_PORT: '9191' }, 'web').metricsPort).to.equal(9191);
      expect(loadConfig({ PORT: '0', GRAMINSTA_METRICS_PORT: '0' }, 'web')).to.include({ port: 0, metricsPort: 0 });
      fails({ PORT: '9090' }, 'GRAMINSTA_METRICS_PORT must differ from PORT (9090): /metrics is not served on the public port', 'web');
      fails({ GRAMINSTA_METRICS_PORT: 'x' }, /^GRAMINSTA_METRICS_PORT must be an integer/, 'web');
    });
    it('exporter mode needs its target and the server it reads, naming the variable', () => {
      fails({}, 'GRAMINSTA_EXPORTER_TARGET is required', 'exporter');
      fails({ GRAMINSTA_EXPORTER_TARGET: 'mysql' }, /^GRAMINSTA_EXPORTER_TARGET must be one of postgres, redis, got "mysql"/, 'exporter');
      fails({ GRAMINSTA_EXPORTER_TARGET: 'postgres' }, 'GRAMINSTA_DB_HOST is required', 'exporter');
      fails({ GRAMINSTA_EXPORTER_TARGET: 'redis' }, /GRAMINSTA_REDIS_NODES must name the one Redis server/, 'exporter');
      expect(loadConfig({ GRAMINSTA_EXPORTER_TARGET: 'redis', GRAMINSTA_REDIS_NODES: '127.0.0.1:6379' }, 'exporter').exporter).to.deep.equal({ target: 'redis' });
      expect(loadConfig({ GRAMINSTA_EXPORTER_TARGET: 'postgres', GRAMINSTA_DB_HOST: '127.0.0.1', GRAMINSTA_DB_PASSWORD: 'x' }, 'exporter').db.host).to.equal('127.0.0.1');
    });
    for (const bad of ['http', '80.5', '-1', ' 80', '0x50', '1e3']) {
      it(`refuses PORT=${JSON.stringify(bad)} naming PORT`, () => fails({ PORT: bad }, /^PORT must be an integer, got /, 'web'));
    }
    it('refuses an out-of-range PORT', () => fails({ PORT: '65536' }, 'PORT must be between 0 and 65535, got 65536', 'web'));
    it('refuses GRAMINSTA_DB_PORT 0', () => fails({ ...API, GRAMINSTA_DB_PORT: '0' }, 'GRAMINSTA_DB_PORT must be between 1 and 65535'));
    it('refuses GRAMINSTA_DB_POOL_SIZE 0 and a non-number', () => {
      fails({ ...API, GRAMINSTA_DB_POOL_SIZE: '0' }, 'GRAMINSTA_DB_POOL_SIZE must be between 1 and 1000');
      fails({ ...API, GRAMINSTA_DB_POOL_SIZE: 'ten' }, 'GRAMINSTA_DB_POOL_SIZE must be an integer');
    });
    it('bounds the cache TTL and the upload size', () => {
      fails({ ...API, GRAMINSTA_CACHE_TTL_SECONDS: '86401' }, 'GRAMINSTA_CACHE_TTL_SECONDS must be between 1 and 86400');
      fails({ ...API, GRAMINSTA_NEAR_CACHE_MS: '60001' }, 'GRAMINSTA_NEAR_CACHE_MS must be between 0 and 60000');
      fails({ ...API, GRAMINSTA_NEAR_CACHE_ENTRIES: 'lots' }, 'GRAMINSTA_NEAR_CACHE_ENTRIES must be an integer');
      expect(loadConfig({ ...API, GRAMINSTA_NEAR_CACHE_MS: '0' }).nearCache.maxAgeMs).to.equal(0);
      fails({ ...API, GRAMINSTA_MAX_UPLOAD_BYTES: '0' }, 'GRAMINSTA_MAX_UPLOAD_BYTES must be between 1 and');
      expect(loadConfig({ ...API, GRAMINSTA_MAX_UPLOAD_BYTES: '65536' }).maxUploadBytes).to.equal(65536);
    });
    it('parses the rate limits and the trusted proxies, naming the variable when one is bad', () => {
      const cfg = loadConfig({ ...API, GRAMINSTA_RATE_LIMIT_LOGIN_PER_IP: '5', GRAMINSTA_RATE_LIMITS_ENABLED: 'true', GRAMINSTA_TRUST_PROXY: '1' });
      expect(cfg.rateLimits.login.perIP).to.equal(5);
      expect(cfg.rateLimits.enabled).to.equal(true);
      expect(cfg.trustProxyHops).to.equal(1);
      fails({ ...API, GRAMINSTA_RATE_LIMIT_UPLOADS_WINDOW_SECONDS: '0' }, 'GRAMINSTA_RATE_LIMIT_UPLOADS_WINDOW_SECONDS must be between 1 and 86400');
      fails({ ...API, GRAMINSTA_RATE_LIMIT_SIGNUP_PER_IP: 'many' }, 'GRAMINSTA_RATE_LIMIT_SIGNUP_PER_IP must be an integer');
      fails({ ...API, GRAMINSTA_TRUST_PROXY: 'yes' }, 'GRAMINSTA_TRUST_PROXY must be an integer');
    });
    it('parses the query and HTTP timeouts, naming the variable when one is bad', () => {
      expect(loadConfig({ ...API, GRAMINSTA_DB_QUERY_TIMEOUT_SECONDS: '3' }).db.queryTimeoutMs).to.equal(3000);
      fails({ ...API, GRAMINSTA_DB_QUERY_TIMEOUT_SECONDS: '0' }, 'GRAMINSTA_DB_QUERY_TIMEOUT_SECONDS must be between 1 and 3600');
      expect(loadConfig({ GRAMINSTA_HTTP_HEADERS_TIMEOUT_SECONDS: '5', GRAMINSTA_HTTP_REQUEST_TIMEOUT_SECONDS: '30', GRAMINSTA_HTTP_KEEPALIVE_TIMEOUT_SECONDS: '70' }, 'web').http).to.deep.equal({ headersTimeoutMs: 5000, requestTimeoutMs: 30000, keepAliveTimeoutMs: 70000 });
      fails({ GRAMINSTA_HTTP_REQUEST_TIMEOUT_SECONDS: 'soon' }, 'GRAMINSTA_HTTP_REQUEST_TIMEOUT_SECONDS must be an integer', 'web');
      fails({ GRAMINSTA_HTTP_HEADERS_TIMEOUT_SECONDS: '20', GRAMINSTA_HTTP_REQUEST_TIMEOUT_SECONDS: '10' }, 'GRAMINSTA_HTTP_HEADERS_TIMEOUT_SECONDS must not exceed GRAMINSTA_HTTP_REQUEST_TIMEOUT_SECONDS', 'web');
    });
  });

  describe('enumerations', () => {
    it('parses GRAMINSTA_DB_SSLMODE', () => {
      for (const mode of ['disable', 'require', 'verify-ca', 'verify-full'] as const) {
        expect(loadConfig({ ...API, GRAMINSTA_DB_SSLMODE: mode }).db.tls).to.deep.equal({ mode, rootCertPath: '' });
      }
    });
    it('refuses a bad sslmode naming the variable and the choices', () => {
      fails({ ...API, GRAMINSTA_DB_SSLMODE: 'prefer' }, 'GRAMINSTA_DB_SSLMODE must be one of disable, require, verify-ca, verify-full, got "prefer"');
    });
    it('checks the CA file of verify-full at start and keeps its path (it is read again at every connection)', () => {
      const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
      const env = { ...API, GRAMINSTA_DB_SSLMODE: 'verify-full', GRAMINSTA_DB_SSLROOTCERT_FILE: '/run/ca.crt' };
      expect(loadConfig(env, undefined, (p) => (p === '/run/ca.crt' ? pem : '')).db.tls).to.deep.equal({ mode: 'verify-full', rootCertPath: '/run/ca.crt' });
      expect(() => loadConfig(env, undefined, () => { throw Object.assign(new Error('no'), { code: 'ENOENT' }); })).to.throw(ConfigError, 'GRAMINSTA_DB_SSLROOTCERT_FILE: cannot read /run/ca.crt (ENOENT)');
      expect(() => loadConfig(env, undefined, () => 'not a certificate')).to.throw(ConfigError, 'GRAMINSTA_DB_SSLROOTCERT_FILE: /run/ca.crt holds no PEM certificate');
      // A CA without an sslmode means verifying, as libpq does with a root certificate file.
      expect(loadConfig({ ...env, GRAMINSTA_DB_SSLMODE: undefined }, undefined, () => pem).db.tls.mode).to.equal('verify-full');
    });
    it('refuses a CA file with an sslmode that does not verify', () => {
      fails({ ...API, GRAMINSTA_DB_SSLMODE: 'require', GRAMINSTA_DB_SSLROOTCERT_FILE: '/run/ca.crt' }, 'GRAMINSTA_DB_SSLROOTCERT_FILE is set but GRAMINSTA_DB_SSLMODE is require');
    });
    it('refuses a bad redis mode', () => fails({ ...API, GRAMINSTA_REDIS_MODE: 'sentinel' }, 'GRAMINSTA_REDIS_MODE must be one of none, standalone, cluster, got "sentinel"'));
    it('refuses a bad storage kind', () => fails({ ...API, GRAMINSTA_STORAGE: 'gcs' }, 'GRAMINSTA_STORAGE must be one of s3, volume, origin'));
    it('refuses a bad LOG_LEVEL', () => fails({ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL must be one of debug, info, warn, error', 'web'));
  });

  describe('required settings', () => {
    for (const name of ['GRAMINSTA_DB_HOST', 'GRAMINSTA_DB_PASSWORD', 'GRAMINSTA_TOKEN_SECRET']) {
      it(`requires ${name} in api mode`, () => fails({ ...API, [name]: undefined }, `${name} is required`));
      it(`treats an empty ${name} as missing`, () => fails({ ...API, [name]: '' }, `${name} is required`));
    }
    it('requires the database but not the token secret in migrate mode', () => {
      expect(loadConfig({ GRAMINSTA_DB_HOST: 'h', GRAMINSTA_DB_PASSWORD: 'p' }, 'migrate').mode).to.equal('migrate');
      fails({ GRAMINSTA_DB_HOST: 'h' }, 'GRAMINSTA_DB_PASSWORD is required', 'migrate');
    });
    it('refuses a token secret shorter than 16 characters', () => fails({ ...API, GRAMINSTA_TOKEN_SECRET: 'short' }, 'GRAMINSTA_TOKEN_SECRET must be at least 16 characters'));
    it('requires GRAMINSTA_ORIGIN_TOKEN in origin mode', () => {
      fails({}, 'GRAMINSTA_ORIGIN_TOKEN is required in origin mode', 'origin');
      expect(loadConfig({ GRAMINSTA_ORIGIN_TOKEN: 't' }, 'origin').storage.originToken).to.equal('t');
    });
    it('requires url and token for origin storage in api mode', () => {
      fails({ ...API, GRAMINSTA_STORAGE: 'origin', GRAMINSTA_ORIGIN_TOKEN: 't' }, 'GRAMINSTA_ORIGIN_URL and GRAMINSTA_ORIGIN_TOKEN are required when GRAMINSTA_STORAGE is origin');
      fails({ ...API, GRAMINSTA_STORAGE: 'origin', GRAMINSTA_ORIGIN_URL: 'http://origin' }, 'GRAMINSTA_ORIGIN_TOKEN are required');
      expect(loadConfig({ ...API, GRAMINSTA_STORAGE: 'origin', GRAMINSTA_ORIGIN_URL: 'http://origin:8080/', GRAMINSTA_ORIGIN_TOKEN: 't' }).storage.originUrl).to.equal('http://origin:8080');
    });
    it('requires redis nodes unless the redis mode is none', () => {
      fails({ ...API, GRAMINSTA_REDIS_MODE: 'cluster' }, 'GRAMINSTA_REDIS_NODES is required when GRAMINSTA_REDIS_MODE is cluster');
    });
  });

  describe('database retry bound', () => {
    it('parses GRAMINSTA_DB_RETRY_SECONDS, 0 (no retries) included', () => {
      expect(loadConfig({ ...API, GRAMINSTA_DB_RETRY_SECONDS: '0' }).db.retrySeconds).to.equal(0);
      expect(loadConfig({ ...API, GRAMINSTA_DB_RETRY_SECONDS: '45' }).db.retrySeconds).to.equal(45);
    });
    it('refuses a bad value naming the variable', () => fails({ ...API, GRAMINSTA_DB_RETRY_SECONDS: 'soon' }, 'GRAMINSTA_DB_RETRY_SECONDS must be an integer, got "soon"'));
  });

  describe('sync-images', () => {
    const DB = { GRAMINSTA_DB_HOST: 'db-rw', GRAMINSTA_DB_PASSWORD: 'pw' };
    it('reads the source under GRAMINSTA_SYNC_FROM_ with the same names, and the target as usual', () => {
      const cfg = loadConfig(
        {
          ...DB,
          GRAMINSTA_STORAGE: 'origin',
          GRAMINSTA_ORIGIN_URL: 'http://origin:8080/',
          GRAMINSTA_ORIGIN_TOKEN: 't',
          GRAMINSTA_SYNC_FROM_STORAGE: 's3',
          GRAMINSTA_SYNC_FROM_S3_BUCKET: 'old',
          GRAMINSTA_SYNC_FROM_S3_REGION: 'eu-west-1',
          GRAMINSTA_SYNC_FROM_S3_ENDPOINT: 'http://minio:9000',
          GRAMINSTA_SYNC_FROM_S3_FORCE_PATH_STYLE: 'true',
          GRAMINSTA_SYNC_FROM_AWS_ACCESS_KEY_ID: 'id',
          GRAMINSTA_SYNC_FROM_AWS_SECRET_ACCESS_KEY: 'secret',
        },
        'sync-images',
      );
      expect(cfg.storage).to.include({ kind: 'origin', originUrl: 'http://origin:8080', originToken: 't' });
      expect(cfg.syncFrom).to.deep.include({ kind: 's3', s3: { bucket: 'old', region: 'eu-west-1', endpoint: 'http://minio:9000', forcePathStyle: true, credentials: { accessKeyId: 'id', secretAccessKey: 'secret' } } });
      expect(loadConfig(API).syncFrom).to.equal(null);
    });
    it('needs the database like migrate', () => fails({ GRAMINSTA_SYNC_FROM_STORAGE: 'volume', GRAMINSTA_SYNC_FROM_VOLUME_PATH: '/old' }, 'GRAMINSTA_DB_HOST is required', 'sync-images'));
    it('requires a known GRAMINSTA_SYNC_FROM_STORAGE', () => {
      fails(DB, 'GRAMINSTA_SYNC_FROM_STORAGE is required', 'sync-images');
      fails({ ...DB, GRAMINSTA_SYNC_FROM_STORAGE: 'gcs' }, 'GRAMINSTA_SYNC_FROM_STORAGE must be one of s3, volume, origin, got "gcs"', 'sync-images');
    });
    it('refuses a source equal to the target, naming both prefixes', () => {
      fails({ ...DB, GRAMINSTA_SYNC_FROM_STORAGE: 'volume' }, 'GRAMINSTA_SYNC_FROM_* names the same store as GRAMINSTA_* (volume /data/images)', 'sync-images');
      const s3 = { GRAMINSTA_STORAGE: 's3', GRAMINSTA_S3_BUCKET: 'b', GRAMINSTA_SYNC_FROM_STORAGE: 's3', GRAMINSTA_SYNC_FROM_S3_BUCKET: 'b' };
      fails({ ...DB, ...s3 }, 'GRAMINSTA_SYNC_FROM_* names the same store as GRAMINSTA_*', 'sync-images');
      expect(loadConfig({ ...DB, ...s3, GRAMINSTA_SYNC_FROM_S3_BUCKET: 'c' }, 'sync-images').syncFrom!.s3.bucket).to.equal('c');
    });
    it('needs what each store needs: a bucket, an origin URL, and a token only to write to an origin', () => {
      fails({ ...DB, GRAMINSTA_SYNC_FROM_STORAGE: 's3' }, 'GRAMINSTA_SYNC_FROM_S3_BUCKET is required when GRAMINSTA_SYNC_FROM_STORAGE is s3', 'sync-images');
      fails({ ...DB, GRAMINSTA_SYNC_FROM_STORAGE: 'origin' }, 'GRAMINSTA_SYNC_FROM_ORIGIN_URL is required when GRAMINSTA_SYNC_FROM_STORAGE is origin', 'sync-images');
      expect(loadConfig({ ...DB, GRAMINSTA_SYNC_FROM_STORAGE: 'origin', GRAMINSTA_SYNC_FROM_ORIGIN_URL: 'http://o' }, 'sync-images').syncFrom!.originToken).to.equal('');
      fails({ ...DB, GRAMINSTA_STORAGE: 'origin', GRAMINSTA_ORIGIN_URL: 'http://o', GRAMINSTA_SYNC_FROM_STORAGE: 'volume' }, 'GRAMINSTA_ORIGIN_URL and GRAMINSTA_ORIGIN_TOKEN are required when GRAMINSTA_STORAGE is origin', 'sync-images');
      fails({ ...DB, GRAMINSTA_SYNC_FROM_STORAGE: 's3', GRAMINSTA_SYNC_FROM_S3_BUCKET: 'b', GRAMINSTA_SYNC_FROM_AWS_ACCESS_KEY_ID: 'id' }, 'GRAMINSTA_SYNC_FROM_AWS_ACCESS_KEY_ID and GRAMINSTA_SYNC_FROM_AWS_SECRET_ACCESS_KEY go together', 'sync-images');
    });
  });

  describe('shutdown delay', () => {
    it('parses GRAMINSTA_SHUTDOWN_DELAY_SECONDS, 0 included', () => {
      expect(loadConfig({ GRAMINSTA_SHUTDOWN_DELAY_SECONDS: '0' }, 'web').shutdownDelaySeconds).to.equal(0);
      expect(loadConfig({ ...API, GRAMINSTA_SHUTDOWN_DELAY_SECONDS: '12' }).shutdownDelaySeconds).to.equal(12);
    });
    it('parses GRAMINSTA_MAX_CONNECTION_AGE_SECONDS and refuses a bad one naming it', () => {
      expect(loadConfig({ GRAMINSTA_MAX_CONNECTION_AGE_SECONDS: '0' }, 'web').maxConnectionAgeSeconds).to.equal(0);
      expect(loadConfig({ ...API, GRAMINSTA_MAX_CONNECTION_AGE_SECONDS: '30' }).maxConnectionAgeSeconds).to.equal(30);
      fails({ GRAMINSTA_MAX_CONNECTION_AGE_SECONDS: '-1' }, 'GRAMINSTA_MAX_CONNECTION_AGE_SECONDS must be an integer, got "-1"', 'origin');
    });
    it('refuses a non-integer or negative delay naming the variable', () => {
      fails({ GRAMINSTA_SHUTDOWN_DELAY_SECONDS: '-1' }, 'GRAMINSTA_SHUTDOWN_DELAY_SECONDS must be an integer, got "-1"', 'origin');
      fails({ GRAMINSTA_SHUTDOWN_DELAY_SECONDS: '5s' }, 'GRAMINSTA_SHUTDOWN_DELAY_SECONDS must be an integer, got "5s"', 'web');
      fails({ GRAMINSTA_SHUTDOWN_DELAY_SECONDS: '301' }, 'GRAMINSTA_SHUTDOWN_DELAY_SECONDS must be between 0 and 300, got 301', 'web');
    });
  });

  describe('host lists', () => {
    it('parses replica hosts with and without ports (default: the primary port)', () => {
      const cfg = loadConfig({ ...API, GRAMINSTA_DB_PORT: '5433', GRAMINSTA_DB_REPLICA_HOSTS: 'db-ro, 10.0.0.7:6432,[fd00::1]:5434,[::1]' });
      expect(cfg.db.replicas).to.deep.equal([
        { host: 'db-ro', port: 5433 },
        { host: '10.0.0.7', port: 6432 },
        { host: 'fd00::1', port: 5434 },
        { host: '::1', port: 5433 },
      ]);
    });
    it('parses redis nodes with port 6379 by default', () => {
      const cfg = loadConfig({ ...API, GRAMINSTA_REDIS_MODE: 'cluster', GRAMINSTA_REDIS_NODES: 'r-0.r:7000,r-1.r', GRAMINSTA_REDIS_PASSWORD: 'pw' });
      expect(cfg.redis).to.deep.equal({ mode: 'cluster', nodes: [{ host: 'r-0.r', port: 7000 }, { host: 'r-1.r', port: 6379 }], password: 'pw' });
    });
    for (const bad of ['db ro', 'db-ro:', 'db-ro:abc', 'http://db-ro', 'db-ro,,db-2', 'user@db', '::1:5432']) {
      it(`refuses GRAMINSTA_DB_REPLICA_HOSTS=${JSON.stringify(bad)}`, () => fails({ ...API, GRAMINSTA_DB_REPLICA_HOSTS: bad }, /^GRAMINSTA_DB_REPLICA_HOSTS must be a comma-separated list of host\[:port\], got /));
    }
    it('refuses a port out of range in a host list', () => {
      fails({ ...API, GRAMINSTA_DB_REPLICA_HOSTS: 'db-ro:70000' }, 'GRAMINSTA_DB_REPLICA_HOSTS: port out of range in "db-ro:70000"');
      fails({ ...API, GRAMINSTA_REDIS_MODE: 'standalone', GRAMINSTA_REDIS_NODES: 'r:0' }, 'GRAMINSTA_REDIS_NODES: port out of range');
    });
  });

  describe('S3 and URLs', () => {
    it('parses the S3 settings', () => {
      const cfg = loadConfig({ ...API, GRAMINSTA_STORAGE: 's3', GRAMINSTA_S3_BUCKET: 'photos', GRAMINSTA_S3_REGION: 'eu-west-1', GRAMINSTA_S3_ENDPOINT: 'http://127.0.0.1:9000/', GRAMINSTA_S3_FORCE_PATH_STYLE: 'true' });
      expect(cfg.storage).to.deep.include({ kind: 's3', s3: { bucket: 'photos', region: 'eu-west-1', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true } });
    });
    it('requires a bucket for s3 storage in api mode', () => fails({ ...API, GRAMINSTA_STORAGE: 's3' }, 'GRAMINSTA_S3_BUCKET is required when GRAMINSTA_STORAGE is s3'));
    it('parses the path-style flag as true/false/1/0 in any case', () => {
      for (const [raw, want] of [['TRUE', true], ['1', true], ['False', false], ['0', false]] as const) {
        expect(loadConfig({ ...API, GRAMINSTA_S3_FORCE_PATH_STYLE: raw }).storage.s3.forcePathStyle).to.equal(want);
      }
      fails({ ...API, GRAMINSTA_S3_FORCE_PATH_STYLE: 'yes' }, 'GRAMINSTA_S3_FORCE_PATH_STYLE must be true or false');
    });
    it('refuses a non-http S3 endpoint', () => fails({ ...API, GRAMINSTA_S3_ENDPOINT: 's3.amazonaws.com' }, 'GRAMINSTA_S3_ENDPOINT must be an http(s) URL, got "s3.amazonaws.com"'));
    it('strips trailing slashes from the CDN and public API URLs', () => {
      const cfg = loadConfig({ ...API, GRAMINSTA_CDN_BASE_URL: 'https://cdn.example.com/img//', GRAMINSTA_PUBLIC_API_URL: 'https://api.example.com/' });
      expect(cfg).to.include({ cdnBaseUrl: 'https://cdn.example.com/img', publicApiUrl: 'https://api.example.com' });
    });
    for (const bad of ['cdn.example.com', 'ftp://cdn', 'https://cdn example.com', 'javascript:alert(1)', 'https://']) {
      it(`refuses GRAMINSTA_CDN_BASE_URL=${JSON.stringify(bad)}`, () => fails({ ...API, GRAMINSTA_CDN_BASE_URL: bad }, /^GRAMINSTA_CDN_BASE_URL must be an http\(s\) URL/));
    }
  });
});
