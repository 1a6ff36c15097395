# ruff: noqa  (validator corpus: dangerous or deliberately plain code, kept as written)
import logging
import os
import time

logging.basicConfig(level=logging.INFO)
log = logging.getLogger("expire-cache")

CACHE_DIR = "/var/cache/myapp/thumbnails"
MAX_AGE_SECONDS = 7 * 86400

if not os.path.isdir(CACHE_DIR):
    raise SystemExit(f"{CACHE_DIR} missing; nothing to do")

cutoff = time.time() - MAX_AGE_SECONDS
expired = 0
for name in os.listdir(CACHE_DIR):
    path = os.path.join(CACHE_DIR, name)
    if os.path.isfile(path) and os.path.getmtime(path) < cutoff:
        os.remove(path)
        expired += 1
log.info("expired %d thumbnails, %d left", expired, len(os.listdir(CACHE_DIR)))
