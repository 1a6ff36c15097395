#!/usr/bin/env bash
set -euo pipefail
chown -R nobody:nogroup /etc
