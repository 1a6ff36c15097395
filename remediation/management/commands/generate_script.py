"""manage.py generate_script --rca PATH [--format text|json] [--no-llm] (contracts/COMMANDS.md).

Runs the whole pipeline synchronously and stores the script as the API does. Exit 0 when a script
was stored, 1 when none could be produced, 2 for a usage error or an RCA that does not match the schema.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from remediation.api.serializers import ScriptOutputSerializer
from remediation.errors import InvalidInput
from remediation.lifecycle import Actor
from remediation.management.schema import ensure_schema
from remediation.models import ActorKind, Anomaly, RemediationScript
from remediation.services.generation import script_generate
from remediation.services.intake import request_remediation
from templates_app.models import RemediationTemplate
from templates_app.services import seed_templates

CLI_ACTOR = Actor(ActorKind.SYSTEM, "cli:generate_script")


class Command(BaseCommand):
    help = "Generate, validate, score and route a remediation script for one RCA finding."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rca", required=True, metavar="PATH")
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument("--no-llm", action="store_true", help="use templates only, never the LLM")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with open(options["rca"], "rb") as handle:
                payload = json.loads(handle.read().decode("utf-8"))
        except OSError as exc:
            self.stderr.write(f"generate_script: cannot read {options['rca']}: {exc.strerror}")
            raise SystemExit(2) from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.stderr.write(f"generate_script: {options['rca']} is not JSON: {exc}")
            raise SystemExit(2) from None
        ensure_schema(self.stderr)
        if not RemediationTemplate.objects.exists():
            summary = seed_templates()
            self.stderr.write(f"Seeded {summary.created} templates (the table was empty).")
        try:
            with transaction.atomic():
                script, _ = request_remediation(
                    payload=payload, actor=CLI_ACTOR, source=Anomaly.Source.CLI, enqueue=False
                )
        except InvalidInput as exc:
            self.stderr.write(f"generate_script: {exc.message}")
            raise SystemExit(2) from None
        script = script_generate(script_id=script.pk, no_llm=options["no_llm"], final_attempt=True)
        self._print(script, options["format"])
        raise SystemExit(0 if script.generated_script else 1)

    def _print(self, script: RemediationScript, fmt: str) -> None:
        fresh = RemediationScript.objects.select_related("template", "template_version").get(pk=script.pk)
        data = ScriptOutputSerializer(fresh).data
        if fmt == "json":
            self.stdout.write(json.dumps(data, default=str))
            return
        self.stdout.write(f"script {data['id']} ({data['script_language'] or 'none'} on {data['target_system']})")
        self.stdout.write(f"template: {data['template'] or '-'}   generator: {data['generator']}")
        self.stdout.write(f"confidence: {data['confidence_score']} {data['confidence_level']}")
        self.stdout.write(
            f"validation: {data['validation_status']}   approval: {data['approval_status']}   "
            f"execution: {data['execution_status']}"
        )
        for finding in data["validation_findings"]:
            self.stdout.write(
                f"  {finding['severity']:8} {finding['rule_id']} line {finding['line']}: {finding['message']}"
            )
        if data["error"]:
            self.stdout.write(f"error: {data['error']}")
        if data["generated_script"]:
            self.stdout.write("\n" + data["generated_script"])
