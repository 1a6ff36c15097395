import os

run = os.system
run("shutdown -h now")
