# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import os

import requests

webhook = os.environ["SLACK_WEBHOOK_URL"]
payload = {"text": "disk cleanup finished on web-7"}
response = requests.post(webhook, json=payload, timeout=5)
response.raise_for_status()
