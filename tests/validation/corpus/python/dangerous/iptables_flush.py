# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import subprocess

subprocess.run(["iptables", "-F"], check=True)
subprocess.run(["iptables", "-P", "INPUT", "ACCEPT"], check=True)
