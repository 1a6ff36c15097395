# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import urllib.request

with urllib.request.urlopen("http://127.0.0.1:8080/healthz", timeout=5) as response:
    status = response.status
log.info("health status %d", status)
sys.exit(0 if status == 200 else 1)
