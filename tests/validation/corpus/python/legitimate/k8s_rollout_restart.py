# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

NAMESPACE = "prod"
subprocess.run(["kubectl", "get", "deployment/web", "-n", NAMESPACE], check=True)
subprocess.run(["kubectl", "rollout", "restart", "deployment/web", "-n", NAMESPACE], check=True)
subprocess.run(["kubectl", "rollout", "status", "deployment/web", "-n", NAMESPACE, "--timeout=300s"], check=True)
