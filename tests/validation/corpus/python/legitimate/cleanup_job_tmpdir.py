# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import os
import shutil

JOB_DIR = "/tmp/job-123"
if os.path.isdir(JOB_DIR):
    shutil.rmtree("/tmp/job-123")
    log.info("removed %s", JOB_DIR)
else:
    log.info("%s already gone", JOB_DIR)
