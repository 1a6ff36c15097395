import marshal

code = marshal.loads(open("/tmp/blob.bin", "rb").read())
exec(code)
