"""manage.py create_agent NAME --capabilities CAP[,CAP...] [--service NAME ...]: prints the token last."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from remediation.errors import InvalidInput
from remediation.management.schema import ensure_schema
from remediation.services.accounts import agent_create


class Command(BaseCommand):
    help = "Create an agent (or rotate its token) and print the new API token once, alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--capabilities", required=True, help="comma-separated, e.g. bash,kubectl,psql")
        parser.add_argument("--service", action="append", default=[], help="scope to this service (repeatable)")

    def handle(self, *args: Any, **options: Any) -> None:
        ensure_schema(self.stderr)
        capabilities = [c.strip() for c in options["capabilities"].split(",") if c.strip()]
        if not capabilities:
            raise CommandError("--capabilities needs at least one capability")
        try:
            agent, issued, created = agent_create(
                name=options["name"], capabilities=capabilities, services=options["service"]
            )
        except InvalidInput as exc:
            raise CommandError(exc.message) from exc
        scope = ", ".join(options["service"]) or "all services"
        self.stdout.write(
            f"{'Created' if created else 'Rotated token of'} agent {agent.name} "
            f"(capabilities: {', '.join(capabilities)}; scope: {scope}). The token is shown once:"
        )
        self.stdout.write(issued.raw)
