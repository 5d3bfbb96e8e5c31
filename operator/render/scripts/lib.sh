# graminsta script library: the preamble every data-tier entrypoint shares. The entrypoints source it
# from their own directory; hack/gen-scripts.ts inlines it where they do, so each ConfigMap key is one
# self-contained script.

# The script's name without .sh, as it prefixes every log line.
SCRIPT_NAME="${0##*/}"
SCRIPT_NAME="${SCRIPT_NAME%.sh}"

# log MESSAGE: a timestamped line on stderr.
log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $SCRIPT_NAME: $*" >&2; }

# fail MESSAGE: logs an error and exits 1.
fail() { log "error: $*"; exit 1; }

# use_bin_dir DIR: puts DIR first on PATH when it is not empty (the *_BIN_DIR settings).
use_bin_dir() { if [ -n "$1" ]; then PATH="$1:$PATH"; export PATH; fi; }

# number NAME VALUE: fails unless VALUE is a non-negative integer.
number() { case "$2" in ''|*[!0-9]*) fail "$1 must be a non-negative integer, got '$2'" ;; esac; }

# secret_value NAME VALUE FILE: prints VALUE, or the content of FILE (NAME_FILE: the Secret key mounted as a file,
# so that the value is in no process environment) without trailing newlines; fails naming NAME_FILE when FILE
# cannot be read, and when both are set. Use as NAME=$(secret_value NAME "${NAME:-}" "${NAME_FILE:-}").
secret_value() {
  if [ -z "$3" ]; then
    printf '%s' "$2"
    return 0
  fi
  [ -z "$2" ] || fail "$1 and $1_FILE are both set; set one of them"
  { [ -f "$3" ] && [ -r "$3" ]; } || fail "$1_FILE: cannot read $3"
  cat "$3" || fail "$1_FILE: cannot read $3"
}

# resolve HOST: prints the IP HOST resolves to (an IP is printed as is; nothing when it does not resolve).
resolve() {
  case "$1" in
    *[!0-9.]*) getent hosts "$1" 2>/dev/null | awk 'NR == 1 {print $1}' ;;
    *) echo "$1" ;;
  esac
}

# cluster_table WANTED: reads CLUSTER NODES on stdin and prints a node a line: id ip:port role master-id slots wanted, where
# role is master, replica or gone (failed, without address, in a handshake), master-id is - for a primary, slots the
# number of slots it serves and wanted yes when its ip:port is one of WANTED (space-separated).
cluster_table() {
  awk -v wanted=" $1 " '
    NF >= 8 {
      addr = $2; sub(/[@,].*/, "", addr)
      role = ($3 ~ /master/) ? "master" : "replica"
      if ($3 ~ /(^|,)(fail|noaddr|handshake)(,|$)/) role = "gone"
      n = 0
      for (i = 9; i <= NF; i++) {
        if ($i ~ /^\[/) continue
        split($i, r, "-")
        n += (r[2] == "") ? 1 : r[2] - r[1] + 1
      }
      print $1, addr, role, $4, n, (index(wanted, " " addr " ") ? "yes" : "no")
    }'
}

# fewest_replicas_of ONLY: reads cluster_table lines on stdin and prints the id of the wanted primary with the fewest
# wanted replicas (the first such), among the ids in ONLY (space-separated) when it is not empty.
fewest_replicas_of() {
  awk -v only=" $1 " '
    $3 == "master" && $6 == "yes" && (only == "  " || index(only, " " $1 " ")) { order[++k] = $1 }
    $3 == "replica" && $6 == "yes" { replicas[$4]++ }
    END { for (i = 1; i <= k; i++) { c = replicas[order[i]] + 0; if (best == "" || c < least) { best = order[i]; least = c } } print best }'
}

# backoff_sleep MAX: the retry of a wait loop: sleeps $delay, adds it to $waited and doubles $delay within 1..MAX.
backoff_sleep() {
  sleep "$delay"
  waited=$((waited + delay))
  delay=$((delay * 2))
  [ "$delay" -le "$1" ] || delay="$1"
  [ "$delay" -ge 1 ] || delay=1
}

# The supervised server (see supervise): its pid while it runs, the stop signals received so far, and
# the first of them (empty until one arrives).
server_pid=""
signals_received=0
stop_signal=""

# supervise FAST_SIGNAL: from now on SIGTERM and SIGINT are forwarded to the server as FAST_SIGNAL, SIGQUIT
# and SIGHUP as themselves, instead of ending this shell; a stop signal that arrives before the server
# is started is remembered in $stop_signal. The shell stays the server's parent (the container's pid 1)
# so that it can pass on the kubelet's SIGTERM as the server's fast shutdown and exit with its status.
supervise() {
  # shellcheck disable=SC2064 # $1 is meant to be expanded now
  trap "forward_signal TERM $1" TERM
  # shellcheck disable=SC2064
  trap "forward_signal INT $1" INT
  trap 'forward_signal QUIT QUIT' QUIT
  trap 'forward_signal HUP HUP' HUP
}

# forward_signal RECEIVED SENT: the trap of supervise.
forward_signal() {
  signals_received=$((signals_received + 1))
  if [ "$1" != HUP ] && [ -z "$stop_signal" ]; then stop_signal="$1"; fi
  if [ -n "$server_pid" ]; then kill -s "$2" "$server_pid" 2>/dev/null || true; fi
}

# start_server COMMAND...: runs COMMAND in the background as the supervised server (its output is this
# shell's).
start_server() {
  "$@" &
  server_pid=$!
}

# wait_server: waits for the supervised server to end and returns its exit status (128+n when signal n
# ended it).
wait_server() {
  while :; do
    before=$signals_received
    status=0
    wait "$server_pid" || status=$?
    # A trapped signal makes wait return early with 128+n while the server still runs: wait again.
    if [ "$status" -le 128 ] || [ "$signals_received" = "$before" ]; then break; fi
  done
  server_pid=""
  return "$status"
}

# postgres_tls CERT KEY CA: the values of POSTGRES_TLS_CERT_FILE, POSTGRES_TLS_KEY_FILE and POSTGRES_TLS_CA_FILE (the
# server certificate, its key and the CA certificate that signed it, mounted from a Secret), set together or not at
# all. Sets $tls to on or off; fails naming the variable that is missing or unreadable. Postgres accepts a key file
# owned by root and readable by its group (a Secret volume with defaultMode 0440 and the pod's fsGroup), or owned by
# itself with 0600.
postgres_tls() {
  if [ -z "$1$2$3" ]; then
    tls=off
    return 0
  fi
  for tls_pair in "POSTGRES_TLS_CERT_FILE=$1" "POSTGRES_TLS_KEY_FILE=$2" "POSTGRES_TLS_CA_FILE=$3"; do
    tls_var=${tls_pair%%=*}
    tls_file=${tls_pair#*=}
    [ -n "$tls_file" ] || fail "POSTGRES_TLS_CERT_FILE, POSTGRES_TLS_KEY_FILE and POSTGRES_TLS_CA_FILE go together; $tls_var is not set"
    { [ -f "$tls_file" ] && [ -r "$tls_file" ]; } || fail "$tls_var: cannot read $tls_file"
  done
  tls=on
}

# write_hba DIR USER CIDRS: writes DIR/pg_hba.conf, which the scripts own (edits are lost at the next start): the
# superuser over the unix socket (peer); over TCP only from CIDRS (space-separated), with a password (scram-sha-256),
# the replication role USER for replication and every role for its databases. With $tls on, TCP needs TLS (hostssl)
# and connections without it are rejected (hostnossl ... reject).
write_hba() {
  if [ "$tls" = on ]; then hba_type=hostssl; else hba_type=host; fi
  {
    echo "# graminsta: written by $SCRIPT_NAME at every start; edits are lost"
    echo "local all all peer"
    if [ "$tls" = on ]; then
      echo "hostnossl all all all reject"
      echo "hostnossl replication all all reject"
    fi
    for cidr in $3; do
      echo "$hba_type replication $2 $cidr scram-sha-256"
      echo "$hba_type all all $cidr scram-sha-256"
    done
  } > "$1/pg_hba.conf.graminsta" || fail "could not write $1/pg_hba.conf"
  mv "$1/pg_hba.conf.graminsta" "$1/pg_hba.conf" || fail "could not write $1/pg_hba.conf"
}

# watch_tls SECONDS CERT KEY: with $tls on, checks the certificate and key files every SECONDS in the background and
# sends the supervised server SIGHUP when their content changed: the kubelet refreshes a mounted Secret in place when
# the operator renews the certificate, and postgres loads the new one on SIGHUP for new connections (open ones keep
# theirs; a pair that does not load leaves the old one in use, and the next check tries again). Sets $tls_watch to its
# pid ('' with $tls off).
# shellcheck disable=SC2034 # tls_watch is read by the entrypoints that source this library
watch_tls() {
  tls_watch=""
  [ "$tls" = on ] || return 0
  (
    trap - TERM INT QUIT HUP
    seen=$(cat "$2" "$3" 2>/dev/null | cksum)
    while sleep "$1"; do
      current=$(cat "$2" "$3" 2>/dev/null | cksum)
      [ "$current" != "$seen" ] || continue
      log "the TLS certificate or key changed; reloading postgres"
      kill -s HUP "$server_pid" 2>/dev/null || log "could not signal postgres (pid $server_pid)"
      seen=$current
    done
  ) &
  tls_watch=$!
}
