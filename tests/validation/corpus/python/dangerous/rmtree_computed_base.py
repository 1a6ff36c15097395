import os
import shutil

base = os.environ.get("APP_DIR", "")
shutil.rmtree(os.path.join(base, "cache"))
