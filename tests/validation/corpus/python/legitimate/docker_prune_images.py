# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

subprocess.run(["docker", "image", "prune", "-f", "--filter", "until=168h"], check=True)
subprocess.run(["docker", "container", "prune", "-f"], check=True)
subprocess.run(["df", "-h", "/var/lib/docker"], check=True)
