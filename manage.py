#!/usr/bin/env python
"""Django's command-line utility, which starts the embedded database first when a command needs one."""

import os
import sys

#: Commands that work without any database (contracts/COMMANDS.md).
NO_DATABASE_COMMANDS = {"validate_script", "sandbox_run", "help", "version", "--help", "-h", "--version"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    if command not in NO_DATABASE_COMMANDS:
        from config.bootstrap import ensure_embedded_database

        ensure_embedded_database()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
