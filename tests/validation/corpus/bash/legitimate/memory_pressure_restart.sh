#!/usr/bin/env bash
set -euo pipefail

avail=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
echo "MemAvailable: ${avail} kB"
if [[ $avail -lt 262144 ]]; then
  systemctl restart app-worker
fi
ps -eo pid,rss,comm --sort=-rss | head -10
