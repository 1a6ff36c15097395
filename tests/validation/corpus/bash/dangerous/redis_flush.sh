#!/usr/bin/env bash
set -euo pipefail
redis-cli -h 127.0.0.1 FLUSHALL
