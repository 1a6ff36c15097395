"""manage.py validate_script PATH [PATH ...] --language LANG ... (contracts/COMMANDS.md); needs no database."""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from remediation.validation.cli import main


class Command(BaseCommand):
    help = "Validate scripts with real parsers and safety rules; exit 0 PASSED, 1 FAILED, 2 usage error."

    def run_from_argv(self, argv: list[str]) -> None:
        sys.exit(main(argv[2:], prog=f"{argv[0]} {argv[1]}", default_strictness=settings.VALIDATION_STRICTNESS))
