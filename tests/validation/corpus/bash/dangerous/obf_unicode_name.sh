#!/usr/bin/env bash
set -euo pipefail
ｒｍ -rf /tmp/x
