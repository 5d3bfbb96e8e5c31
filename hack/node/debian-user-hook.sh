#!/bin/sh
# mmdebstrap essential hook: adds system user and group NAME with uid = gid = UID to the root file system
# before the packages that would create them are installed, so their maintainer scripts keep that uid
# (adduser --system accepts an existing system user). Usage: debian-user-hook.sh ROOTFS NAME UID HOME SHELL
set -eu
[ "$#" -eq 5 ] || { echo "usage: $0 ROOTFS NAME UID HOME SHELL" >&2; exit 2; }
rootfs="$1" name="$2" uid="$3" home="$4" shell="$5"
if grep -q "^$name:" "$rootfs/etc/passwd" || grep -q "^[^:]*:[^:]*:$uid:" "$rootfs/etc/passwd"; then
  echo "debian-user-hook: $name or uid $uid already exists in $rootfs/etc/passwd" >&2
  exit 1
fi
echo "$name:x:$uid:$uid::$home:$shell" >> "$rootfs/etc/passwd"
echo "$name:x:$uid:" >> "$rootfs/etc/group"
# Before the passwd package is configured there are no shadow files; its postinst derives them.
if [ -e "$rootfs/etc/shadow" ]; then echo "$name:*:19000:0:99999:7:::" >> "$rootfs/etc/shadow"; fi
if [ -e "$rootfs/etc/gshadow" ]; then echo "$name:*::" >> "$rootfs/etc/gshadow"; fi
