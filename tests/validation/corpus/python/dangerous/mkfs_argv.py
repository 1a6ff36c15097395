import subprocess

subprocess.check_call(["mkfs.ext4", "-F", "/dev/sdb1"])
