// The growth journey as a benchmark (issue: the growth journey on running pods): the same run as
// test/e2e/journey.e2e.test.ts, on the real node, printing per transition the time to Ready, the
// requests sent and failed while it moved, and the p99 latency during the move as a ratio to the p99
// at rest measured right after it (same run, same load generator in its own process).
// Run: npm run bench -- --journey   (as root, with the real node: GRAMINSTA_REAL_NODE=1)
import { getCluster } from '../test/support/cluster.js';
import { runJourney } from '../test/support/journey.js';
import { startOperatorProcess } from '../test/support/operator-process.js';
import { createRealNodeNamespace, deleteRealNodeNamespace, imageSettings, realNode, realNodeMissing } from '../test/support/real-node.js';

async function main(): Promise<void> {
  const missing = realNodeMissing();
  if (missing) throw new Error(`the journey bench needs the real node: ${missing}`);
  const cluster = await getCluster();
  const node = realNode();
  const ns = await createRealNodeNamespace('journey-bench');
  const operator = await startOperatorProcess('journey-bench-operator', ns, imageSettings(node));
  try {
    const r = await runJourney(cluster, node, ns, (line) => console.error(`journey: ${line}`), { restSeconds: 20 });
    console.log('| users | stage | time to Ready (s) | requests | failed | p99 during (ms) | p99 at rest (ms) | ratio |');
    console.log('|---:|---|---:|---:|---:|---:|---:|---:|');
    for (const t of r.transitions) {
      const ratio = t.restP99Ms > 0 ? (t.p99Ms / t.restP99Ms).toFixed(2) : 'n/a';
      console.log(`| ${t.users} | ${t.stage} | ${t.secondsToReady.toFixed(1)} | ${t.sent} | ${t.failed} | ${t.p99Ms} | ${t.restP99Ms} | ${ratio}x |`);
    }
    console.log(`\nwhole run: ${r.load.sent} requests, ${r.load.failed} failed, ${r.load.resentOnReusedSocket} resent on a reused keep-alive socket`);
    console.log(`photos: ${r.photosChecked} checks, ${r.photoProblems.length} problems; stage checks: ${r.stageProblems.length} problems`);
    console.log(`HPA burst: ${JSON.stringify(r.hpa)}`);
    console.log(`delete and re-apply: Ready in ${r.recreate.secondsToReady.toFixed(1)} s, ${r.recreate.photosFound}/${r.recreate.photosExpected} photos found, login ${r.recreate.loginWorks ? 'works' : 'FAILS'}`);
    if (r.load.failed > 0) console.log(`failures: ${JSON.stringify(r.load.failures.slice(0, 10))}`);
  } finally {
    operator.child.kill('SIGTERM');
    await deleteRealNodeNamespace(ns, 300_000);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
