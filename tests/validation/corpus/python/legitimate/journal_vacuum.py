# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

subprocess.run(["journalctl", "--disk-usage"], check=True)
subprocess.run(["journalctl", "--vacuum-time=7d"], check=True)
subprocess.run(["journalctl", "--disk-usage"], check=True)
