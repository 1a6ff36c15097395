#!/usr/bin/env bash
set -euo pipefail

id app
chown -R app:app /var/lib/app
find /var/lib/app -maxdepth 1 -ls
