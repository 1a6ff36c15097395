# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import psycopg

with psycopg.connect("dbname=app") as conn:
    conn.execute("DROP TABLE users")
