#!/usr/bin/env bash
set -euo pipefail

if swapon --show | grep -q /swapfile; then
  echo "swap already on"; exit 0
fi
dd if=/dev/zero of=/swapfile bs=1M count=2048
chmod 600 /swapfile
mkswap /swapfile
swapon /swapfile
free -m
