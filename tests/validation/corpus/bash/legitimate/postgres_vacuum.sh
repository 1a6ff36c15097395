#!/usr/bin/env bash
set -euo pipefail

psql -h localhost -U postgres -d app -c "SELECT count(*) FROM pg_stat_activity;"
psql -h localhost -U postgres -d app -c "VACUUM (ANALYZE) public.sessions;"
