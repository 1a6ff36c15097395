# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

history = subprocess.run(["helm", "history", "web", "-n", "prod", "--max", "5"], capture_output=True, text=True)
log.info(history.stdout)
subprocess.run(["helm", "rollback", "web", "41", "-n", "prod", "--wait"], check=True)
subprocess.run(["kubectl", "rollout", "status", "deployment/web", "-n", "prod"], check=True)
