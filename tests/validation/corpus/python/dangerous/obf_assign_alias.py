# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import os

run = os.system
run("shutdown -h now")
