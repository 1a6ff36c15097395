"""Commands that need the schema create it on first use (contracts/COMMANDS.md: "created and migrated
on first use"), so an operator's first command on a fresh machine works without a separate migrate."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


def ensure_schema(stderr: Any) -> None:
    """``stderr`` is the command's output wrapper (anything with ``write``)."""
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        stderr.write("Applying database migrations (first use)...\n")
        call_command("migrate", interactive=False, verbosity=0)
