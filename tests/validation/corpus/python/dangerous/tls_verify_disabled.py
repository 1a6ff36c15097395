# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import requests

response = requests.get("https://internal-api.example/health", verify=False, timeout=5)
print(response.status_code)
