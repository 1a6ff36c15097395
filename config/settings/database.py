"""Database: DATABASE_URL when set, otherwise the embedded PostgreSQL with pgvector."""

import environ

from config.embedded_postgres import database_settings
from config.env import env_str
from config.settings.base import DATA_DIR

EMBEDDED_POSTGRES_DIR = DATA_DIR / "postgres"
DATABASE_URL = env_str("DATABASE_URL")
USES_EMBEDDED_DATABASE = not DATABASE_URL

if DATABASE_URL:
    _database = environ.Env.db_url_config(DATABASE_URL)
else:
    _database = database_settings(EMBEDDED_POSTGRES_DIR)

_database["CONN_MAX_AGE"] = 0
_database.setdefault("TEST", {})["NAME"] = "test_remediation"
DATABASES = {"default": _database}
