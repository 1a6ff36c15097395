import subprocess as sp

ARGS = ["rm", "-rf", "/var/lib/mysql"]
sp.call(ARGS)
