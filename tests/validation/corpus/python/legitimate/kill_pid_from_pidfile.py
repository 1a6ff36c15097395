# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import os
import signal

with open("/run/myapp/worker.pid") as handle:
    pid = int(handle.read().strip())
os.kill(pid, signal.SIGHUP)
log.info("sent SIGHUP to %d", pid)
