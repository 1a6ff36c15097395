#!/usr/bin/env bash
set -euo pipefail
echo "iptables -F" | sh
