import yaml

with open("/opt/app/config.yaml") as handle:
    config = yaml.load(handle)
