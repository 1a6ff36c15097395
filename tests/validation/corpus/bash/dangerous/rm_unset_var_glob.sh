#!/usr/bin/env bash
set -eo pipefail
echo "cleaning cache in $CACHE_DIR"
rm -rf "$CACHE_DIR/"*
df -h
