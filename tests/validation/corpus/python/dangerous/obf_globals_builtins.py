# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
payload = "__import__('os').system('id')"
globals()["__builtins__"].eval(payload)
