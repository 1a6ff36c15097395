import subprocess
import sys

cmd = sys.argv[1]
subprocess.run(cmd, shell=True, check=True)
