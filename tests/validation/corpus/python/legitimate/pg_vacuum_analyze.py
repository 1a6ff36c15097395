# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import psycopg

with psycopg.connect("dbname=app", autocommit=True) as conn:
    conn.execute("SET statement_timeout = '30min'")
    conn.execute("VACUUM (ANALYZE) public.orders")
    stats = conn.execute("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'orders'").fetchone()
log.info("dead tuples now %s", stats)
