"""manage.py create_user USERNAME --role ROLE [--service NAME ...] [--password-env VAR] [--token]."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from remediation.access import Role
from remediation.management.schema import ensure_schema
from remediation.services.accounts import token_issue, user_create_or_update


class Command(BaseCommand):
    help = "Create or update a person with a role, scoped to services; --token prints a new API token last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=[r.value for r in Role if r is not Role.AGENT])
        parser.add_argument("--service", action="append", default=[])
        parser.add_argument("--password-env", metavar="VAR")
        parser.add_argument("--token", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        ensure_schema(self.stderr)
        password = None
        if options["password_env"]:
            password = os.environ.get(options["password_env"])
            if not password:
                raise CommandError(f"environment variable {options['password_env']} is not set or empty")
        user, created = user_create_or_update(
            username=options["username"], role=Role(options["role"]), services=options["service"], password=password
        )
        scope = ", ".join(options["service"]) or "all services"
        self.stdout.write(f"{'Created' if created else 'Updated'} {options['role']} {user.username} (scope: {scope}).")
        if options["token"]:
            issued = token_issue(user=user, name="create_user --token")
            self.stdout.write(issued.raw)
