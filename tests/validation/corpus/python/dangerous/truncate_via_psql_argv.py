import subprocess

subprocess.run(["psql", "-d", "app", "-c", "TRUNCATE orders CASCADE"], check=True)
