# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import sys

import psycopg

table = sys.argv[1]
with psycopg.connect("dbname=app") as conn:
    with conn.cursor() as cur:
        cur.execute(f"DELETE FROM {table}")
