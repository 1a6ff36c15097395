#!/usr/bin/env bash
set -euo pipefail

pgrep -af 'celery worker -Q slow' || true
pkill -f 'celery worker -Q slow'
sleep 5
systemctl restart celery-slow
