"""Start what a process needs before Django touches the database."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    default = Path(__file__).resolve().parent.parent / ".data"
    return Path(os.environ.get("REMEDIATION_DATA_DIR", str(default))).resolve()


def ensure_embedded_database() -> None:
    """Start the embedded PostgreSQL when no DATABASE_URL is configured (idempotent, ~1 s the first time)."""
    if os.environ.get("DATABASE_URL"):
        return
    from config.embedded_postgres import ensure_running

    ensure_running(data_dir() / "postgres")
