# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import yaml

with open("/opt/app/config.yaml") as handle:
    config = yaml.load(handle)
