# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import subprocess

subprocess.run(["psql", "-d", "app", "-c", "TRUNCATE orders CASCADE"], check=True)
