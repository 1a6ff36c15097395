#!/usr/bin/env bash
set -euo pipefail
cat /tmp/image.raw > /dev/nvme0n1
