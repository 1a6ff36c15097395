# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
from pathlib import Path

Path("/etc/shadow").unlink()
