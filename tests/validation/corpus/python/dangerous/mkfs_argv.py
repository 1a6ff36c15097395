# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import subprocess

subprocess.check_call(["mkfs.ext4", "-F", "/dev/sdb1"])
