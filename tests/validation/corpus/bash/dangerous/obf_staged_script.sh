#!/usr/bin/env bash
set -euo pipefail
cat > /tmp/fix.sh <<'EOF'
rm -rf /var/lib/postgresql
EOF
bash /tmp/fix.sh
