#!/usr/bin/env bash
set -euo pipefail

CACHE_DIR="/var/cache/checkout"
THRESHOLD=90

usage=$(df --output=pcent /var | tail -1 | tr -dc '0-9')
echo "disk usage before: ${usage}%"
if [ "$usage" -lt "$THRESHOLD" ]; then
  echo "nothing to do"
  exit 0
fi

find "$CACHE_DIR" -type f -mtime +3 -delete
rm -rf "${CACHE_DIR:?}/tmp"

after=$(df --output=pcent /var | tail -1 | tr -dc '0-9')
echo "disk usage after: ${after}%"
