#!/usr/bin/env bash
set -euo pipefail
echo 'reboot' | at now + 5 minutes
