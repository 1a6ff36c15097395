"""Writes on templates: versioned edits, seeding, outcome statistics, quarantine and release."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from remediation.errors import InvalidInput, TransitionRefused
from remediation.lifecycle import SYSTEM, Actor, record_event
from templates_app.models import RemediationTemplate, TemplateSource, TemplateVersion
from templates_app.rendering import check_template_definition
from templates_app.seed_library import SeedTemplate, load_seed_templates
from templates_app.variables import TemplateDefinitionError, VariableSpec

#: Fields whose change makes a new version.
VERSIONED_FIELDS = ("template_content", "rollback_content", "template_variables", "safety_checks")


def _checksum(data: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _check_definition(*, content: str, rollback: str | None, language: str, variables: Sequence[Any]) -> None:
    try:
        specs = [VariableSpec.from_dict(item) for item in variables]
        check_template_definition(content=content, rollback=rollback, language=language, specs=specs)
    except TemplateDefinitionError as exc:
        raise InvalidInput(f"Template definition is unsafe or invalid: {exc}", field="template_content") from exc


def _snapshot(template: RemediationTemplate, *, actor: Actor, note: str) -> TemplateVersion:
    return TemplateVersion.objects.create(
        template=template,
        version=template.version,
        template_content=template.template_content,
        rollback_content=template.rollback_content,
        template_variables=template.template_variables,
        safety_checks=template.safety_checks,
        checksum=_checksum({f: getattr(template, f) for f in VERSIONED_FIELDS}),
        created_by=actor.user,
        change_note=note,
    )


def template_create(*, data: Mapping[str, Any], actor: Actor, source: str = TemplateSource.USER) -> RemediationTemplate:
    _check_definition(
        content=data["template_content"],
        rollback=data.get("rollback_content"),
        language=data["script_language"],
        variables=data.get("template_variables", []),
    )
    with transaction.atomic():
        template = RemediationTemplate.objects.create(source=source, version=1, **data)
        _snapshot(template, actor=actor, note="created")
        record_event(
            actor=actor,
            verb="template.created",
            object_type="template",
            object_id=template.pk,
            after={"name": template.name, "version": 1},
        )
    return template


def template_update(*, template: RemediationTemplate, data: Mapping[str, Any], actor: Actor) -> RemediationTemplate:
    """Apply an edit; a change to the content, rollback, variables or checks makes a new version."""
    merged = {f: data.get(f, getattr(template, f)) for f in VERSIONED_FIELDS}
    _check_definition(
        content=merged["template_content"],
        rollback=merged["rollback_content"],
        language=data.get("script_language", template.script_language),
        variables=merged["template_variables"],
    )
    with transaction.atomic():
        locked = RemediationTemplate.objects.select_for_update().get(pk=template.pk)
        before = {"version": locked.version, **{k: getattr(locked, k) for k in data if k not in VERSIONED_FIELDS}}
        content_changed = any(getattr(locked, f) != merged[f] for f in VERSIONED_FIELDS)
        for name, value in data.items():
            setattr(locked, name, value)
        if content_changed:
            locked.version += 1
        locked.save()
        if content_changed:
            _snapshot(locked, actor=actor, note=str(data.get("change_note", "edited")))
        record_event(
            actor=actor,
            verb="template.updated",
            object_type="template",
            object_id=locked.pk,
            before=before,
            after={"version": locked.version, "content_changed": content_changed},
        )
    return locked


def template_delete(*, template: RemediationTemplate, actor: Actor) -> None:
    """Deactivate rather than delete: scripts keep pointing at the versions they were rendered from."""
    with transaction.atomic():
        RemediationTemplate.objects.filter(pk=template.pk).update(is_active=False, updated_at=timezone.now())
        record_event(
            actor=actor,
            verb="template.deleted",
            object_type="template",
            object_id=template.pk,
            before={"is_active": True},
            after={"is_active": False},
        )


@dataclass(frozen=True)
class SeedSummary:
    created: int
    updated: int
    unchanged: int


def seed_templates(*, path: Path | None = None, update: bool = False, actor: Actor = SYSTEM) -> SeedSummary:
    """Load the seed library; idempotent. ``update`` brings changed seed files in as new versions."""
    created = updated = unchanged = 0
    for seed in load_seed_templates(path):
        existing = RemediationTemplate.objects.filter(name=seed.name).first()
        if existing is None:
            template_create(data=_seed_fields(seed), actor=actor, source=TemplateSource.SEED)
            created += 1
        elif existing.seed_checksum != seed.checksum and update:
            template_update(
                template=existing, data={**_seed_fields(seed), "change_note": "seed file changed"}, actor=actor
            )
            updated += 1
        else:
            unchanged += 1
    return SeedSummary(created, updated, unchanged)


def _seed_fields(seed: SeedTemplate) -> dict[str, Any]:
    return {
        "name": seed.name,
        "description": seed.description,
        "root_cause_category": seed.root_cause_category,
        "script_language": seed.script_language,
        "target_systems": list(seed.target_systems),
        "required_capabilities": list(seed.required_capabilities),
        "template_content": seed.template_content,
        "rollback_content": seed.rollback_content,
        "rollback_unavailable_reason": seed.rollback_unavailable_reason,
        "template_variables": seed.variables_as_dicts(),
        "safety_checks": list(seed.safety_checks),
        "seed_checksum": seed.checksum,
    }


def template_record_outcome(*, template_id: UUID | str, succeeded: bool) -> RemediationTemplate:
    """Count one execution result; quarantine a template that keeps failing.

    Rule: quarantined after TEMPLATE_QUARANTINE_CONSECUTIVE_FAILURES failures in a row, or when,
    after TEMPLATE_QUARANTINE_MIN_RUNS runs, fewer than TEMPLATE_QUARANTINE_MIN_SUCCESS_PERCENT %
    succeeded. Supervisors are notified; only a supervisor releases it.
    """
    with transaction.atomic():
        template = RemediationTemplate.objects.select_for_update().get(pk=template_id)
        if succeeded:
            template.success_count = F("success_count") + 1
            template.consecutive_failures = 0
        else:
            template.failure_count = F("failure_count") + 1
            template.consecutive_failures = F("consecutive_failures") + 1
        template.save(update_fields=["success_count", "failure_count", "consecutive_failures", "updated_at"])
        template.refresh_from_db()
        reason = _quarantine_reason(template)
        if reason and not template.is_quarantined:
            template.is_quarantined = True
            template.quarantined_at = timezone.now()
            template.quarantine_reason = reason
            template.save(update_fields=["is_quarantined", "quarantined_at", "quarantine_reason", "updated_at"])
            record_event(
                actor=SYSTEM,
                verb="template.quarantined",
                object_type="template",
                object_id=template.pk,
                after={"is_quarantined": True},
                details={"reason": reason},
            )
            from remediation.services.notify import notify_template_quarantined

            notify_template_quarantined(template)
    return template


def _quarantine_reason(template: RemediationTemplate) -> str:
    if template.consecutive_failures >= settings.TEMPLATE_QUARANTINE_CONSECUTIVE_FAILURES:
        return f"{template.consecutive_failures} consecutive failed executions"
    runs = template.total_runs
    if runs >= settings.TEMPLATE_QUARANTINE_MIN_RUNS:
        percent = 100 * template.success_count / runs
        if percent < settings.TEMPLATE_QUARANTINE_MIN_SUCCESS_PERCENT:
            return f"success rate {percent:.0f}% after {runs} runs"
    return ""


def template_release(*, template: RemediationTemplate, actor: Actor, justification: str) -> RemediationTemplate:
    """Only a supervisor (a person, never an agent) releases a quarantined template."""
    from remediation.access import Role, has_role
    from remediation.errors import ActionForbidden

    if not actor.is_person or not has_role(actor.user, Role.SUPERVISOR):
        raise ActionForbidden("Only a supervisor can release a quarantined template.", code="role_required")
    if not template.is_quarantined:
        raise TransitionRefused("The template is not quarantined.")
    if not justification.strip():
        raise InvalidInput("Releasing a quarantined template needs a justification.", field="justification")
    with transaction.atomic():
        RemediationTemplate.objects.filter(pk=template.pk).update(
            is_quarantined=False, consecutive_failures=0, quarantine_reason="", updated_at=timezone.now()
        )
        record_event(
            actor=actor,
            verb="template.released",
            object_type="template",
            object_id=template.pk,
            before={"is_quarantined": True},
            after={"is_quarantined": False},
            details={"justification": justification},
        )
    template.refresh_from_db()
    return template
