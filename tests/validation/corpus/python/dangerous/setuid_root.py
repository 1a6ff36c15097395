# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import os
import subprocess

os.setuid(0)
subprocess.run(["id"], check=True)
