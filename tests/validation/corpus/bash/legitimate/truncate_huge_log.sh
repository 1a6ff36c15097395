#!/usr/bin/env bash
set -euo pipefail

LOG=/var/log/app/debug.log
size=$(stat -c %s "$LOG")
echo "debug log is ${size} bytes"
if [ "$size" -gt 1073741824 ]; then
  truncate -s 0 "$LOG"
  echo "truncated $LOG"
fi
ls -l "$LOG"
