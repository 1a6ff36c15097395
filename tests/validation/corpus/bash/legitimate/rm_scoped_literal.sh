#!/usr/bin/env bash
set -euo pipefail

ls /var/cache/app | head
rm -rf /var/cache/app/*
rm -rf ./node_modules dist
rm -f /tmp/app.lock
