#!/usr/bin/env bash
set -euo pipefail

python3 -c 'import shutil; shutil.rmtree("/tmp/job-123", ignore_errors=True)'
python3 - <<'EOF'
import json
print(json.dumps({"status": "ok"}))
EOF
