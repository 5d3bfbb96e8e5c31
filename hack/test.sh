#!/usr/bin/env bash
# Runs every test: type check, lint, unit tests, then the integration suites against a real API server
# (the local control plane, started and stopped here, or the cluster $KUBECONFIG names) and real
# Postgres, Redis and S3-compatible processes that the suites start themselves.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '\n[test %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

bash hack/setup.sh

say "type check and lint"
npx tsc -p tsconfig.json --noEmit
npx eslint --max-warnings=0 .

say "unit tests"
npx mocha 'test/**/*.unit.test.ts'

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

say "integration tests"
npx mocha --timeout 300000 'test/**/*.int.test.ts'
$started && say "stopping the local control plane"
