# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import psutil

LIMIT_BYTES = 2 * 1024**3
worst = 0
for proc in psutil.process_iter(["name", "memory_info"]):
    if proc.info["name"] == "celery":
        worst = max(worst, proc.info["memory_info"].rss)
log.info("largest celery RSS: %d", worst)
if worst > LIMIT_BYTES:
    subprocess.run(["systemctl", "restart", "celery-worker"], check=True)
    state = subprocess.run(["systemctl", "is-active", "celery-worker"], capture_output=True, text=True)
    log.info("celery-worker is %s", state.stdout.strip())
