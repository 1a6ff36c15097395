#!/usr/bin/env bash
set -euo pipefail

KEY=/home/deploy/.ssh/id_ed25519
ls -l "$KEY"
chmod 600 "$KEY"
chown deploy:deploy "$KEY"
ls -l "$KEY"
