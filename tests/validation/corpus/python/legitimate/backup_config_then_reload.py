# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import filecmp
import shutil

SOURCE = "/opt/app/release/app.ini"
TARGET = "/opt/app/current/app.ini"
shutil.copy2(TARGET, "/opt/app/current/app.ini.bak")
if not filecmp.cmp(SOURCE, TARGET):
    shutil.copy2(SOURCE, TARGET)
    subprocess.run(["systemctl", "reload", "myapp"], check=True)
