# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import shutil

import yaml

CONFIG = "/opt/app/config.yaml"
shutil.copy2(CONFIG, "/opt/app/config.yaml.bak")
with open(CONFIG) as handle:
    config = yaml.safe_load(handle)
config["logging"]["level"] = "INFO"
with open(CONFIG, "w") as handle:
    yaml.safe_dump(config, handle)
subprocess.run(["systemctl", "reload", "myapp"], check=True)
