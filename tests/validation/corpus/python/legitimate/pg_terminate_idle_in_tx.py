# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import psycopg

QUERY = """
SELECT pg_terminate_backend(pid)
FROM pg_stat_activity
WHERE state = 'idle in transaction'
  AND state_change < now() - interval '10 minutes'
  AND datname = 'app'
  AND pid <> pg_backend_pid()
"""
with psycopg.connect("dbname=app") as conn:
    before = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'").fetchone()
    conn.execute(QUERY)
    after = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'").fetchone()
log.info("idle in transaction: %s -> %s", before, after)
