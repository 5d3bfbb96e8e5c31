#!/usr/bin/env bash
# Removes every pod sandbox and container that containerd holds in the k8s.io namespace (images
# stay): what a crashed earlier run left, which no kubelet would adopt. Usage: clean-containers.sh CTR SOCKET
set -uo pipefail
ctr_bin="$1" sock="$2"
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
printf '[clean-containers] removed %s container(s) left by an earlier run\n' "$n"
