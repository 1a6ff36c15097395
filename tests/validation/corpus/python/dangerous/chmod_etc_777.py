# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import os

os.chmod("/etc", 0o777)
