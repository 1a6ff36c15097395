#!/usr/bin/env bash
set -euo pipefail
sync
shutdown -r now
