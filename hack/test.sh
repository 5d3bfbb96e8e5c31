#!/usr/bin/env bash
# Runs every test: type check, lint, unit tests, then the integration suites against a real API server
# (the local control plane, started and stopped here, or the cluster $KUBECONFIG names) and real
# Postgres, Redis and S3-compatible processes that the suites start themselves.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=SCRIPTDIR/lib/node.sh
source hack/lib/node.sh
say() { printf '\n[test %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

bash hack/setup.sh

say "type check and lint"
npx tsc -p tsconfig.json --noEmit
npx eslint --max-warnings=0 .
# The scripts that run in pods (POSIX sh; -x follows the lib.sh they source).
shellcheck -x -s sh operator/render/scripts/*.sh
# The project's own bash: set-up, the local cluster, the real node.
shellcheck -x -P SCRIPTDIR hack/*.sh hack/node/*.sh hack/lib/*.sh .ci/run

passed=0 failed=0 skipped=0
# Runs one mocha phase, echoing its output and adding its counts to the totals.
mocha_phase() {
  local log rc=0
  log=$(mktemp)
  npx mocha "$@" 2>&1 | tee "$log" || rc=$?
  passed=$((passed + $(sed -n 's/^ *\([0-9][0-9]*\) passing.*/\1/p' "$log" | tail -1 | grep . || echo 0)))
  failed=$((failed + $(sed -n 's/^ *\([0-9][0-9]*\) failing.*/\1/p' "$log" | tail -1 | grep . || echo 0)))
  skipped=$((skipped + $(sed -n 's/^ *\([0-9][0-9]*\) pending.*/\1/p' "$log" | tail -1 | grep . || echo 0)))
  rm -f "$log"
  return "$rc"
}
summary() { printf '\n%s passed, %s failed, %s skipped\n' "$passed" "$failed" "$skipped"; }

say "unit tests"
mocha_phase 'test/**/*.unit.test.ts' || { summary; exit 1; }

# As root the local control plane gets a real node, and its suite must run: a node that cannot start
# fails the run instead of skipping the tests that need it.
if [[ -z "${KUBECONFIG:-}" && $(id -u) -eq 0 && -z "${GRAMINSTA_REAL_NODE:-}" ]]; then
  export GRAMINSTA_REAL_NODE=1 GRAMINSTA_REQUIRE_REAL_NODE=1
fi

started=false
if [[ -z "${KUBECONFIG:-}" ]]; then
  say "starting the local control plane"
  KUBECONFIG="$(bash hack/cluster-up.sh)"
  export KUBECONFIG
  started=true
  trap 'bash hack/cluster-down.sh' EXIT
else
  say "using the cluster in KUBECONFIG=$KUBECONFIG"
fi

say "integration and end-to-end tests"
rc=0
mocha_phase --timeout 600000 'test/**/*.int.test.ts' 'test/e2e/**/*.e2e.test.ts' || rc=$?
$started && say "stopping the local control plane"
summary
exit "$rc"
