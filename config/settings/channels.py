"""Channel layer: Redis when REDIS_URL is set, PostgreSQL LISTEN/NOTIFY otherwise (works across processes)."""

from config.env import env_str
from config.settings.database import DATABASES

REDIS_URL = env_str("REDIS_URL")

if REDIS_URL:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
else:
    _db = DATABASES["default"]
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_postgres.core.PostgresChannelLayer",
            "CONFIG": {
                k: _db[k] for k in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS") if k in _db
            },
        }
    }
