"""manage.py serve: the whole product on one machine (the README's first command runs this).

Starts (or reuses) the embedded PostgreSQL, migrates, seeds templates, creates a supervisor whose
credentials it prints once, then runs a real Celery worker (with beat for the periodic sweeps) and
the ASGI server (HTTP + websockets). Ctrl-C stops all of it; ``make stop`` stops the database too.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from remediation.access import Role
from remediation.services.accounts import user_create_or_update
from templates_app.services import seed_templates

SUPERVISOR = "supervisor"


class Command(BaseCommand):
    help = "Run the web server (HTTP + websockets) and a Celery worker, after migrating and seeding."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-worker", action="store_true", help="run the web server only")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        summary = seed_templates()
        self.stdout.write(f"Templates: {summary.created} created, {summary.unchanged} already there.")
        self._ensure_supervisor()
        processes = []
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
        if not options["no_worker"]:
            queues = ",".join(settings.CELERY_WORKER_QUEUES)
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "config",
                        "worker",
                        "--beat",
                        "--loglevel",
                        "INFO",
                        "--concurrency",
                        "2",
                        "-Q",
                        queues,
                        "--schedule",
                        str(settings.DATA_DIR / "celerybeat-schedule"),
                    ],
                    env=env,
                )
            )
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    options["host"],
                    "-p",
                    str(options["port"]),
                    "config.asgi:application",
                ],
                env=env,
            )
        )
        base = f"http://{options['host']}:{options['port']}"
        self.stdout.write(
            self.style.SUCCESS(
                f"\nAdmin:    {base}/admin/\nAPI:      {base}/api/generative-remediation/\n"
                f"API docs: {base}/api/docs/\nPress Ctrl-C to stop.\n"
            )
        )
        self._wait(processes)

    def _ensure_supervisor(self) -> None:
        if User.objects.filter(username=SUPERVISOR).exists():
            self.stdout.write(
                f"Supervisor account: {SUPERVISOR} (password printed on the first run; "
                f"`manage.py changepassword {SUPERVISOR}` resets it)."
            )
            return
        password = secrets.token_urlsafe(12)
        user, _ = user_create_or_update(username=SUPERVISOR, role=Role.SUPERVISOR, password=password)
        user.is_superuser = True
        user.save(update_fields=["is_superuser"])
        self.stdout.write(self.style.WARNING(f"Created supervisor account: {SUPERVISOR} / {password}"))

    def _wait(self, processes: list[subprocess.Popen[bytes]]) -> None:
        names = {id(processes[0]): "worker", id(processes[-1]): "web server"} if len(processes) > 1 else {}

        def stop(*_: Any) -> None:
            self.stdout.write("Stopping the web server and the worker...")
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for process in processes:
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
            if settings.USES_EMBEDDED_DATABASE:
                from config.embedded_postgres import stop as stop_database

                if stop_database(settings.EMBEDDED_POSTGRES_DIR):
                    self.stdout.write("Stopped the embedded database (the next command starts it again).")
            self.stdout.write("Stopped.")
            raise SystemExit(0)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)  # Ctrl-C reaches the children too; stop them in order
        try:
            while all(process.poll() is None for process in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            stop()
        for process in processes:
            if process.poll() is not None:
                name = names.get(id(process), "web server")
                self.stderr.write(f"The {name} exited with code {process.returncode}.")
        stop()
