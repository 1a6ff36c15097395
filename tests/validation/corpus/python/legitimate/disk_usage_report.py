# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import json
import shutil

usage = shutil.disk_usage("/")
report = {"total": usage.total, "used": usage.used, "free": usage.free}
with open("/tmp/report.txt", "w") as handle:
    json.dump(report, handle)
log.info("report written")
