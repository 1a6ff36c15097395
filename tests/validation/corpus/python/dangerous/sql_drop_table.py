import psycopg

with psycopg.connect("dbname=app") as conn:
    conn.execute("DROP TABLE users")
