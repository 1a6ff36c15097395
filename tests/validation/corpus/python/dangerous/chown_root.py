# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import os

os.chown("/", 65534, 65534)
