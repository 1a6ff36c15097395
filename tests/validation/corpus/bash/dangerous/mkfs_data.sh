#!/usr/bin/env bash
set -euo pipefail
umount /data || true
mkfs.ext4 -F /dev/sdb1
mount /dev/sdb1 /data
