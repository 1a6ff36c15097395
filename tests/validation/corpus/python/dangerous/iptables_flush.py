import subprocess

subprocess.run(["iptables", "-F"], check=True)
subprocess.run(["iptables", "-P", "INPUT", "ACCEPT"], check=True)
