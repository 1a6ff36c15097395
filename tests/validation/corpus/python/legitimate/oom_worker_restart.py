# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

UNIT = "worker@3.service"
subprocess.run(["journalctl", "-u", UNIT, "-n", "50", "--no-pager"], check=False)
subprocess.run(["systemctl", "restart", UNIT], check=True)
active = subprocess.run(["systemctl", "is-active", UNIT], capture_output=True, text=True).stdout.strip()
log.info("%s is %s", UNIT, active)
