# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import os
import shutil

CACHE_DIR = "/var/cache/myapp"
before = shutil.disk_usage("/var").free
for name in os.listdir(CACHE_DIR):
    os.remove(os.path.join(CACHE_DIR, name))
after = shutil.disk_usage("/var").free
log.info("freed %d bytes", after - before)
