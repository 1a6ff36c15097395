#!/usr/bin/env bash
set -euo pipefail

cat <<'EOF'
Runbook: high disk usage
  1. never run rm -rf / or mkfs on a mounted disk
  2. find /var/log/app -name '*.gz' -mtime +14 -delete
  3. systemctl restart app
EOF
df -h /var
