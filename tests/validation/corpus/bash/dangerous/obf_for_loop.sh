#!/usr/bin/env bash
set -euo pipefail
for d in /boot /etc; do
  rm -rf "$d"
done
