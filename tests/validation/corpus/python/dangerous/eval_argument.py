# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import sys

result = eval(sys.argv[1])
print(result)
