#!/usr/bin/env bash
set -euo pipefail

BUILD=/srv/build/current
test -d "$BUILD"
rsync -a --delete "$BUILD"/ /srv/www/
systemctl reload nginx
