# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import glob
import os
import time

MAX_AGE = 14 * 86400
now = time.time()
removed = 0
for path in glob.glob("/var/log/app/*.gz"):
    if now - os.path.getmtime(path) > MAX_AGE:
        os.remove(path)
        removed += 1
log.info("removed %d old archives", removed)
