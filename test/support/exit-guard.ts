// A mocha root hook: a test run must leave nothing running. Once the last test has run the process exits by itself;
// when a leaked child process, socket or timer keeps it alive, this names what is left and exits 1 instead of
// leaving CI to wait for its own limit (a Redis node a failed set-up did not stop once kept it for 70 minutes).
const GRACE_MS = Number(process.env.GRAMINSTA_TEST_EXIT_GRACE_MS ?? 30_000);

export const mochaHooks = {
  afterAll(): void {
    // unref: the timer itself does not keep the process alive.
    setTimeout(() => {
      const left = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout');
      process.stderr.write(`\nthe test process was still running ${GRACE_MS / 1000} s after its last test; left running: ${left.join(', ') || 'nothing named'}. Something a test started was not stopped.\n`);
      // Mocha sets the exit code from the failures in an 'exit' listener of its own; this one runs after it.
      process.on('exit', () => (process.exitCode = 1));
      process.exit(1);
    }, GRACE_MS).unref();
  },
};
