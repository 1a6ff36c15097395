"""manage.py sandbox_run PATH --language bash|python [--timeout S] [--memory 256MB] [--format text|json].

All logic lives in the Django-free sandbox.cli; this wrapper only hands it the arguments, so usage
errors exit 2 and the script's exit code becomes the command's.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from sandbox.cli import main


class Command(BaseCommand):
    help = "Run one bash or python script in the local sandbox, as an execution would, with no database."

    def run_from_argv(self, argv: list[str]) -> None:
        sys.exit(main(argv[2:], prog=f"{argv[0]} {argv[1]}"))
