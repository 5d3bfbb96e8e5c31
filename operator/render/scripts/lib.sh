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

# backoff_sleep MAX: the retry of a wait loop: sleeps $delay, adds it to $waited and doubles $delay within 1..MAX.
backoff_sleep() {
  sleep "$delay"
  waited=$((waited + delay))
  delay=$((delay * 2))
  [ "$delay" -le "$1" ] || delay="$1"
  [ "$delay" -ge 1 ] || delay=1
}
