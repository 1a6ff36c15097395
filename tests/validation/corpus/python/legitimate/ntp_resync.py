# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

out = subprocess.run(["chronyc", "tracking"], capture_output=True, text=True, check=True)
log.info(out.stdout)
subprocess.run(["chronyc", "makestep"], check=True)
check = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized"], capture_output=True, text=True)
if "yes" not in check.stdout:
    sys.exit("clock still unsynchronised")
