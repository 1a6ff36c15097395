# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import os

os.remove("/etc/passwd")
