# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import psycopg

with psycopg.connect("dbname=app", autocommit=True) as conn:
    conn.execute("SET lock_timeout = '5s'")
    conn.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON public.orders (customer_id)")
    valid = conn.execute(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.orders_customer_id_idx'::regclass"
    ).fetchone()
log.info("index valid: %s", valid)
