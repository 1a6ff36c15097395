import os
import sys

sys.modules["os"].system("halt")
