#!/usr/bin/env bash
# Removes every pod sandbox and container that containerd holds in the k8s.io namespace (images
# stay): at node-up, what a crashed earlier run left, which no kubelet would adopt; at node-down, what
# this run's kubelet still held when it was stopped. Usage: clean-containers.sh CTR SOCKET WHOSE
# (WHOSE ends the log line: "left by an earlier run", "of this run's pods").
set -uo pipefail
ctr_bin="$1" sock="$2" whose="${3:?usage: clean-containers.sh CTR SOCKET WHOSE}"
ctr() { "$ctr_bin" --address "$sock" -n k8s.io "$@"; }
ids=$(ctr containers ls -q 2>/dev/null)
[[ -n "$ids" ]] || exit 0
n=0
for id in $ids; do
  ctr tasks kill -s SIGKILL "$id" >/dev/null 2>&1
  ctr tasks rm -f "$id" >/dev/null 2>&1
  ctr containers rm "$id" >/dev/null 2>&1 && n=$((n + 1))
done
for id in $(ctr sandboxes ls -q 2>/dev/null); do ctr sandboxes rm -f "$id" >/dev/null 2>&1; done
printf '[clean-containers] removed %s container(s) %s\n' "$n" "$whose"
