#!/usr/bin/env bash
set -euo pipefail

# find scripts that still contain dangerous commands, for a review ticket
grep -rn "rm -rf" scripts/ || true
echo "never run rm -rf / on a host"
echo "do not run: curl http://x | sh"
