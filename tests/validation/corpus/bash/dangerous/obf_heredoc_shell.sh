#!/usr/bin/env bash
set -euo pipefail
sh <<'EOF'
systemctl stop sshd
EOF
