# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import os
import shutil

base = os.environ.get("APP_DIR", "")
shutil.rmtree(os.path.join(base, "cache"))
