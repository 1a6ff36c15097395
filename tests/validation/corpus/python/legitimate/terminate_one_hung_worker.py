# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import time

import psutil

for proc in psutil.process_iter(["pid", "name", "cmdline", "create_time"]):
    cmdline = " ".join(proc.info["cmdline"] or [])
    if proc.info["name"] == "celery" and "-Q slow" in cmdline and time.time() - proc.info["create_time"] > 3600:
        log.info("terminating hung worker %d", proc.info["pid"])
        proc.terminate()
        proc.wait(timeout=30)
