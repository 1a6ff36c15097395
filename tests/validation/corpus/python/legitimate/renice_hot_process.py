# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import psutil

hot = max(psutil.process_iter(["pid", "name", "cpu_percent"]), key=lambda p: p.info["cpu_percent"] or 0)
log.info("hottest process %s (%s)", hot.info["name"], hot.info["pid"])
if hot.info["name"] == "report-builder":
    subprocess.run(["renice", "-n", "10", "-p", str(hot.info["pid"])], check=True)
