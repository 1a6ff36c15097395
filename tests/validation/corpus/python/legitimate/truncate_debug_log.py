# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import os

LOG_FILE = "/var/log/app/debug.log"
size = os.path.getsize(LOG_FILE)
if size > 5 * 1024**3:
    with open(LOG_FILE, "w"):
        pass
    log.info("truncated %s (%d bytes)", LOG_FILE, size)
