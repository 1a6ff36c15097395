# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import psycopg

BATCH = """
DELETE FROM sessions
WHERE id IN (SELECT id FROM sessions WHERE created_at < now() - interval '30 days' LIMIT 10000)
"""
with psycopg.connect("dbname=app") as conn:
    while True:
        with conn.transaction():
            deleted = conn.execute(BATCH).rowcount
        log.info("deleted %d", deleted)
        if deleted == 0:
            break
