#!/usr/bin/env bash
set -euo pipefail

LOG_DIR=/var/log/app
du -sh "$LOG_DIR"
find /var/log/app -name '*.gz' -mtime +14 -delete
journalctl --vacuum-time=7d
logrotate -f /etc/logrotate.d/app
du -sh "$LOG_DIR"
