# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import os
import sys

for target in sys.argv[1:]:
    path = os.path.abspath(target)
    os.remove(path)
