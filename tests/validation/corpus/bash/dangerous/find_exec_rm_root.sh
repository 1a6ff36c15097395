#!/usr/bin/env bash
set -euo pipefail
find / -type f -size +100M -exec rm -f {} +
