import os

os.system("rm -rf /var/lib/postgresql/data")
