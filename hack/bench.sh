#!/usr/bin/env bash
# Runs the benchmarks after hack/setup.sh: the operator bench (bench/operator.bench.ts, its arguments
# passed on) and, without arguments or with --service, the photo service bench (bench/service.bench.ts);
# --journey runs the growth journey on the real node (bench/journey.bench.ts).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=SCRIPTDIR/lib/node.sh
source hack/lib/node.sh
bash hack/setup.sh

if [[ "${1:-}" == "--journey" ]]; then
  # The growth journey needs the real node (root): the cluster comes up with it.
  export GRAMINSTA_REAL_NODE=1 GRAMINSTA_REQUIRE_REAL_NODE=1
  exec npx tsx bench/journey.bench.ts
fi
if [[ "${1:-}" == "--service" ]]; then
  exec npx tsx bench/service.bench.ts
fi
npx tsx bench/operator.bench.ts "$@"
if [[ $# -eq 0 ]]; then
  npx tsx bench/service.bench.ts
fi
