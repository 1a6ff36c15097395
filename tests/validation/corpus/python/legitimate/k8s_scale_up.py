# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import json

out = subprocess.run(
    ["kubectl", "get", "deployment", "api", "-n", "prod", "-o", "json"], check=True, capture_output=True, text=True
)
replicas = json.loads(out.stdout)["spec"]["replicas"]
log.info("api has %d replicas", replicas)
if replicas < 6:
    subprocess.run(["kubectl", "scale", "deployment/api", "--replicas=6", "-n", "prod"], check=True)
