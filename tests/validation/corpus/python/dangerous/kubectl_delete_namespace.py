# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import subprocess

subprocess.run(["kubectl", "delete", "namespace", "prod"], check=True)
