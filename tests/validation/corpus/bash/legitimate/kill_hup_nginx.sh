#!/usr/bin/env bash
set -euo pipefail

PIDFILE=/run/nginx.pid
test -s "$PIDFILE"
kill -HUP "$(cat "$PIDFILE")"
sleep 1
curl -fsS -o /dev/null http://localhost/
