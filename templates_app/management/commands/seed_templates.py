"""manage.py seed_templates [--path DIR] [--update]: load the seed library, idempotently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from remediation.management.schema import ensure_schema
from templates_app.services import seed_templates
from templates_app.variables import TemplateDefinitionError


class Command(BaseCommand):
    help = "Load remediation templates from the seed library (YAML files); a second run creates nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--path", type=Path, default=None, help="directory of seed YAML files")
        parser.add_argument("--update", action="store_true", help="bring changed seed files in as new versions")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["path"]
        if path is not None and not path.is_dir():
            raise CommandError(f"{path} is not a directory")
        ensure_schema(self.stderr)
        try:
            summary = seed_templates(path=path, update=options["update"])
        except TemplateDefinitionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{summary.created} created, {summary.updated} updated, {summary.unchanged} unchanged")
