# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import marshal

code = marshal.loads(open("/tmp/blob.bin", "rb").read())
exec(code)
