#!/usr/bin/env bash
set -euo pipefail

if ! nginx -t; then
  echo "config invalid, not restarting" >&2
  exit 1
fi
systemctl reload nginx
sleep 2
systemctl is-active --quiet nginx
curl -fsS http://localhost/healthz
