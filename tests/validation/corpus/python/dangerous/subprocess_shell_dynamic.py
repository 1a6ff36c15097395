# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import subprocess
import sys

cmd = sys.argv[1]
subprocess.run(cmd, shell=True, check=True)
