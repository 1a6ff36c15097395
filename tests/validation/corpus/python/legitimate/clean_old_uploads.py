# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import os
import time

UPLOADS = "/var/tmp/app-uploads"
cutoff = time.time() - 2 * 86400
with os.scandir(UPLOADS) as entries:
    for entry in entries:
        if entry.is_file() and entry.stat().st_mtime < cutoff:
            os.remove(entry.path)
