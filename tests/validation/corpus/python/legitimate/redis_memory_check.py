# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

out = subprocess.run(["redis-cli", "info", "memory"], capture_output=True, text=True, check=True)
used = next(line for line in out.stdout.splitlines() if line.startswith("used_memory:"))
log.info(used)
subprocess.run(["redis-cli", "config", "set", "maxmemory-policy", "allkeys-lru"], check=True)
