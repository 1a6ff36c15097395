#!/usr/bin/env bash
set -euo pipefail

pgbouncer_pid=$(pgrep -o pgbouncer)
echo "pgbouncer pid $pgbouncer_pid"
kill -HUP "$pgbouncer_pid"
psql -h 127.0.0.1 -p 6432 -U pgbouncer pgbouncer -c "SHOW POOLS;"
