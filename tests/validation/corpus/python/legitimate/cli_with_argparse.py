# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import subprocess
import sys

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("remediation")

import argparse
import json

parser = argparse.ArgumentParser(description="Report queue depth")
parser.add_argument("--queue", default="default")
args = parser.parse_args()
out = subprocess.run(["rabbitmqctl", "list_queues", "name", "messages"], capture_output=True, text=True, check=True)
depths = dict(line.split() for line in out.stdout.splitlines() if len(line.split()) == 2)
print(json.dumps({"queue": args.queue, "messages": depths.get(args.queue)}))
