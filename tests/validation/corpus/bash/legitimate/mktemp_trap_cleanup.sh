#!/usr/bin/env bash
set -euo pipefail

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

pg_dump -h localhost -U app -Fc appdb > "$WORK/appdb.dump"
ls -l "$WORK"
cp "$WORK/appdb.dump" /var/backups/app/appdb-$(date +%F).dump
