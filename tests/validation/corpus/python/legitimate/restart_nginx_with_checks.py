# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import requests

HEALTH_URL = "http://127.0.0.1:8080/healthz"


def healthy() -> bool:
    try:
        return requests.get(HEALTH_URL, timeout=5).status_code == 200
    except requests.RequestException:
        return False


subprocess.run(["nginx", "-t"], check=True)
log.info("config ok, restarting nginx")
subprocess.run(["systemctl", "restart", "nginx"], check=True)
if not healthy():
    log.error("nginx unhealthy after restart")
    sys.exit(1)
log.info("nginx healthy")
