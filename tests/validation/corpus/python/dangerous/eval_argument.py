import sys

result = eval(sys.argv[1])
print(result)
