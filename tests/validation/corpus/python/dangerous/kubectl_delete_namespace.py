import subprocess

subprocess.run(["kubectl", "delete", "namespace", "prod"], check=True)
