payload = "__import__('os').system('id')"
globals()["__builtins__"].eval(payload)
