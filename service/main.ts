// Entry point: picks the mode (argv[2] or GRAMINSTA_MODE), starts it, and shuts down on SIGTERM/SIGINT.
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './log.js';
import { runBackup, runRestore } from './app/backup.infra.js';
import { runMigrate, runSyncImages, startApi, startExporter, startOrigin, startWeb, type RunningServer } from './app/server.infra.js';

async function main(): Promise<void> {
  let cfg;
  try {
    cfg = loadConfig(process.env, process.argv[2]);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: `configuration: ${err.message}` }) + '\n');
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(cfg.logLevel, { mode: cfg.mode });
  if (cfg.mode === 'migrate') {
    await runMigrate(cfg, log);
    return;
  }
  if (cfg.mode === 'backup' || cfg.mode === 'restore') {
    try {
      await (cfg.mode === 'backup' ? runBackup(cfg, log) : runRestore(cfg, log));
    } catch (err) {
      log.error(`${cfg.mode} failed`, { err });
      process.exit(1);
    }
    // The S3 client's kept-alive sockets must not hold the Job's pod open.
    process.exit(0);
  }
  if (cfg.mode === 'sync-images') {
    // 1 when photos lost their bytes: the caller must not treat the move as done.
    const { missing } = await runSyncImages(cfg, log);
    process.exit(missing === 0 ? 0 : 1);
  }
  const close = cfg.mode === 'exporter' ? (await startExporter(cfg, log)).close : (await startServer(cfg, log)).shutdown;
  const stop = (signal: string) => {
    log.info('signal received', { signal });
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/** Starts one of the HTTP modes (api, origin, web). */
function startServer(cfg: Config, log: Logger): Promise<RunningServer> {
  return cfg.mode === 'api' ? startApi(cfg, log) : cfg.mode === 'origin' ? startOrigin(cfg, log) : startWeb(cfg, log);
}

// Whatever escapes every handler is logged as one JSON line (a bare stack trace on stderr is missed by log
// pipelines that read JSON), then the process exits as Node would.
process.on('uncaughtException', (err) => {
  createLogger('error').error('fatal: uncaught exception', { err });
  process.exit(1);
});
process.on('unhandledRejection', (err) => {
  createLogger('error').error('fatal: unhandled rejection', { err });
  process.exit(1);
});

main().catch((err: unknown) => {
  createLogger('error').error('fatal', { err });
  process.exit(1);
});
