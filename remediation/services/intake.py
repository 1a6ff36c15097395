"""RCA intake: check the finding against the contract schema, deduplicate, store, enqueue generation."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from jsonschema import Draft202012Validator, FormatChecker

from remediation.dispatch import enqueue_on_commit
from remediation.errors import ActionForbidden, InvalidInput
from remediation.lifecycle import Actor, record_event
from remediation.models import Anomaly, ApprovalStatus, ExecutionStatus, Generator, RemediationScript
from remediation.text_input import nul_character_at

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "rca_finding.schema.json"
#: A script in these execution states is still "open": an identical finding reuses it.
_ACTIVE_EXECUTION = (ExecutionStatus.PENDING, ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)


@cache
def _schema_validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    return Draft202012Validator(schema, format_checker=FormatChecker())


def rca_validate(payload: Any) -> dict[str, Any]:
    """Return the finding when it matches the contract schema, else raise InvalidInput naming the field."""
    if not isinstance(payload, dict):
        raise InvalidInput("The RCA finding must be a JSON object.", field="(root)")
    nul_at = nul_character_at(payload)
    if nul_at is not None:
        # PostgreSQL cannot store U+0000 in text or jsonb; refuse it here rather than fail the insert.
        raise InvalidInput(
            f"Invalid RCA finding at '{nul_at or '(root)'}': contains a NUL character.", field=nul_at or "(root)"
        )
    errors = sorted(_schema_validator().iter_errors(payload), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        parent, missing = _field_path(error.absolute_path), _missing_field(error.message)
        path = ".".join(part for part in (parent, missing) if part) or "(root)"
        raise InvalidInput(f"Invalid RCA finding at '{path}': {error.message}", field=path)
    return payload


def _field_path(parts: Any) -> str:
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _missing_field(message: str) -> str | None:
    # jsonschema reports "'summary' is a required property" at the parent path.
    if message.endswith("is a required property"):
        return message.split("'")[1]
    return None


def rca_fingerprint(rca: dict[str, Any]) -> str:
    """Same service, category, target and parameters -> same fingerprint (text fields don't count)."""
    parameters = {k: v for k, v in (rca.get("parameters") or {}).items() if k != "current_config"}
    key = {
        "service": rca.get("service", ""),
        "category": rca["root_cause_category"],
        "target": rca["target_system"],
        "parameters": parameters,
        "components": sorted(
            (c.get("kind", ""), c.get("name", ""), c.get("namespace", "")) for c in rca.get("affected_components", [])
        ),
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


def open_duplicate(fingerprint: str) -> RemediationScript | None:
    """A current script for the same finding that has not finished, if any."""
    return (
        RemediationScript.objects.filter(
            fingerprint=fingerprint,
            is_current_revision=True,
            approval_status__in=[ApprovalStatus.REQUIRED, ApprovalStatus.APPROVED],
            execution_status__in=_ACTIVE_EXECUTION,
        )
        .order_by("-created_at")
        .first()
    )


def request_remediation(
    *, payload: Any, actor: Actor, source: str = Anomaly.Source.API, enqueue: bool = True
) -> tuple[RemediationScript, bool]:
    """Store the finding and a script awaiting generation; (script, created).

    An identical finding whose script is still open returns that script and creates nothing.
    A new script is generated on the "generation" queue after commit, unless ``enqueue`` is False
    (the CLI generates synchronously).
    """
    rca = rca_validate(payload)
    _check_service_scope(actor, rca)
    fingerprint = rca_fingerprint(rca)
    with transaction.atomic():
        existing = open_duplicate(fingerprint)
        if existing is not None:
            record_event(
                actor=actor,
                verb="remediation.deduplicated",
                object_type="script",
                object_id=existing.pk,
                details={"fingerprint": fingerprint},
            )
            return existing, False
        anomaly = _anomaly_for(rca, source)
        script = RemediationScript.objects.create(
            anomaly=anomaly,
            root_cause_analysis=rca,
            service=rca.get("service", ""),
            root_cause_category=rca["root_cause_category"],
            target_system=rca["target_system"],
            script_language="",
            fingerprint=fingerprint,
            generator=Generator.NONE,
            requested_by=actor.user if actor.is_person else None,
        )
        record_event(
            actor=actor,
            verb="remediation.requested",
            object_type="script",
            object_id=script.pk,
            after={"anomaly_id": str(anomaly.pk), "category": script.root_cause_category},
            details={"source": source, "fingerprint": fingerprint},
        )
        if enqueue:
            enqueue_on_commit("remediation.tasks.generate_script_task", str(script.pk))
    return script, True


def _check_service_scope(actor: Actor, rca: dict[str, Any]) -> None:
    """A person or agent scoped to services may only request remediations for those services."""
    if actor.user is None:
        return
    from remediation.access import service_scope

    scope = service_scope(actor.user)
    if scope is None:
        return
    service = rca.get("service", "")
    if not service:
        raise ActionForbidden(
            f"You are scoped to {', '.join(sorted(scope))}: the RCA must name its service.", code="service_scope"
        )
    if service not in scope:
        raise ActionForbidden(f"You are not scoped to service {service!r}.", code="service_scope")


def _anomaly_for(rca: dict[str, Any], source: str) -> Anomaly:
    anomaly_id = rca.get("anomaly_id")
    service = rca.get("service", "")
    if anomaly_id:
        anomaly = Anomaly.objects.filter(pk=anomaly_id).first()
        if anomaly is not None:
            if anomaly.service != service:
                raise InvalidInput("anomaly_id names an anomaly of another service.", field="anomaly_id")
            return anomaly
    detected_at = None
    if rca.get("detected_at"):
        try:
            detected_at = parse_datetime(str(rca["detected_at"]))
        except ValueError:
            detected_at = None
        if detected_at is None:
            raise InvalidInput("detected_at is not an ISO 8601 date-time.", field="detected_at")
    title = rca.get("title")
    if title is not None and not isinstance(title, str):
        raise InvalidInput("title must be a string.", field="title")
    return Anomaly.objects.create(
        **({"id": anomaly_id} if anomaly_id else {}),
        service=service,
        severity=rca.get("severity", ""),
        title=(title or rca["summary"] or rca["root_cause_category"])[:500],
        detected_at=detected_at or timezone.now(),
        source=source,
        raw_payload=rca,
    )
