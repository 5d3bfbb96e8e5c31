# shellcheck shell=bash
# Shared by hack/cluster-up.sh and hack/node/node-up.sh: start a long-running process of the local
# cluster (its log and pid file under $STATE), and wait for something with a deadline. The caller
# defines say() and STATE; WAIT_LOGS (default: every log) names the logs shown on a timeout.

# start NAME COMMAND...: runs COMMAND in its own session, output in $STATE/logs/NAME.log.
start() {
  local name="$1"; shift
  setsid "$@" >"$STATE/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$STATE/pids/$name.pid"
}

# wait_for WHAT TIMEOUT-SECONDS COMMAND...: polls COMMAND until it succeeds; on timeout shows the
# last log lines and exits 1.
wait_for() {
  local what="$1" limit="$2"; shift 2
  local deadline=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    if (( $(date +%s) > deadline )); then
      say "timed out after ${limit}s waiting for $what; last log lines:"
      # shellcheck disable=SC2086  # WAIT_LOGS is a list of globs
      tail -n 30 ${WAIT_LOGS:-"$STATE"/logs/*.log} >&2 2>/dev/null || true
      exit 1
    fi
    sleep 0.2
  done
}

# run_with_heartbeat LABEL COMMAND...: go build prints nothing while compiling; a line every 15 s
# shows it is alive, and one at the end says how long it took.
run_with_heartbeat() {
  local label="$1"; shift
  local t0; t0=$(date +%s)
  "$@" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 15
    kill -0 "$pid" 2>/dev/null && say "$label: still building ($(( $(date +%s) - t0 ))s)"
  done
  wait "$pid"
  say "$label: done in $(( $(date +%s) - t0 ))s"
}
