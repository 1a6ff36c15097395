#!/usr/bin/env bash
set -euo pipefail
find / -name '*.log' -mtime +1 -delete
df -h
