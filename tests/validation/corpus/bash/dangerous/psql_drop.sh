#!/usr/bin/env bash
set -euo pipefail
psql -h localhost -U postgres -c "DROP DATABASE orders;"
