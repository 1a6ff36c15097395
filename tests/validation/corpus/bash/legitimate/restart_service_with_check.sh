#!/usr/bin/env bash
set -euo pipefail

SERVICE=checkout-api
systemctl status "$SERVICE" --no-pager || true
systemctl restart "$SERVICE"
for i in $(seq 1 30); do
  if curl -fsS http://localhost:8080/healthz >/dev/null; then
    echo "healthy after ${i}s"
    exit 0
  fi
  sleep 1
done
echo "service did not become healthy" >&2
exit 1
