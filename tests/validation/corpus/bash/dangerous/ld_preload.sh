#!/usr/bin/env bash
set -euo pipefail
echo /tmp/libhook.so > /etc/ld.so.preload
