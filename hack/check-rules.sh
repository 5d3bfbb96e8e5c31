#!/usr/bin/env bash
# Type-checks the alerts the operator renders (every example) and the dashboard's queries with promtool,
# built once from the Go module github.com/prometheus/prometheus into the cache (PROMTOOL overrides).
# Not part of set-up or `npm test`: a cold build took 28m40s wall (9m24s CPU) on the shared 2-core machine,
# so the test suite checks the same expressions with the Prometheus grammar instead
# (test/operator/render/alerts.promql.unit.test.ts). Usage: hack/check-rules.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=SCRIPTDIR/lib/node.sh
source hack/lib/node.sh
VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
BIN_DIR="${GRAMINSTA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/graminsta}/bin/prometheus-$VERSION"
PROMTOOL="${PROMTOOL:-$BIN_DIR/promtool}"
say() { printf '[check-rules %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
if [[ ! -x "$PROMTOOL" ]]; then
  say "building promtool $VERSION into $BIN_DIR (a cold build takes long: about 30 minutes here)"
  mkdir -p "$BIN_DIR"
  t0=$(date +%s)
  (cd "${TMPDIR:-/tmp}" && GOFLAGS=-mod=mod GOTOOLCHAIN=local GOBIN="$BIN_DIR" go install -trimpath -ldflags '-s -w' "github.com/prometheus/prometheus/cmd/promtool@$VERSION")
  say "promtool built in $(( $(date +%s) - t0 )) s"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npx tsx hack/export-rules.ts "$work" >&2
"$PROMTOOL" check rules --lint=all --lint-fatal "$work"/group-*.yaml
