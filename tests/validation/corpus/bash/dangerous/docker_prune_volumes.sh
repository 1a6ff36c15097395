#!/usr/bin/env bash
set -euo pipefail
docker system prune -a --volumes -f
