"""Review collaboration: revisions (a supervisor's modification), inline comments, diffs."""

from __future__ import annotations

import difflib
from collections import defaultdict
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from remediation.access import Role, has_role, is_agent, may_act_on_service
from remediation.confidence import ConfidenceInputs, effective_line_count, score_confidence
from remediation.errors import ActionForbidden, InvalidInput, TransitionRefused
from remediation.lifecycle import Actor, record_event
from remediation.models import (
    ApprovalStatus,
    ExecutionStatus,
    Generator,
    RemediationScript,
    ReviewComment,
)
from remediation.services.routing import route_script
from remediation.services.validation import run_validators, store_validation
from remediation.text_input import refuse_nul_characters

_REVISABLE_APPROVAL = (ApprovalStatus.REQUIRED, ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED)


def script_revise(
    *, script: RemediationScript, user: Any, generated_script: str, rollback_script: str | None, note: str = ""
) -> RemediationScript:
    """Store a supervisor's modification as a new revision, validated again and never auto-approved."""
    refuse_nul_characters(generated_script=generated_script, rollback_script=rollback_script, note=note)
    if is_agent(user) or not has_role(user, Role.SUPERVISOR):
        raise ActionForbidden("Only supervisors can revise a script.", code="role_required")
    if not may_act_on_service(user, script.service):
        raise ActionForbidden(f"You are not scoped to service {script.service!r}.", code="service_scope")
    if not generated_script or not generated_script.strip():
        raise InvalidInput("The revised script is empty.", field="generated_script")
    result = run_validators(
        script=generated_script,
        rollback=rollback_script,
        language=script.script_language,
        rca=script.root_cause_analysis,
        target_system=script.target_system,
    )
    with transaction.atomic():
        parent = RemediationScript.objects.select_for_update().get(pk=script.pk)
        if not parent.is_current_revision:
            raise TransitionRefused("Only the newest revision can be revised.", code="superseded")
        if parent.execution_status != ExecutionStatus.PENDING or parent.approval_status not in _REVISABLE_APPROVAL:
            raise TransitionRefused(
                "A script that was approved or executed cannot be revised.", code="illegal_transition"
            )
        factors = parent.confidence_factors or {}
        confidence = score_confidence(
            ConfidenceInputs(
                rca_confidence=float(parent.root_cause_analysis.get("confidence", 0)),
                has_template=parent.template_id is not None,
                completeness=float(factors.get("completeness", 0.0) or 0.0),
                validation_passed=result.passed,
                validation_has_minor_findings=result.has_minor_findings,
                effective_lines=effective_line_count(generated_script),
                template_successes=parent.template.success_count if parent.template else 0,
                template_failures=parent.template.failure_count if parent.template else 0,
            )
        )
        RemediationScript.objects.filter(pk=parent.pk).update(is_current_revision=False)
        revision = RemediationScript.objects.create(
            anomaly=parent.anomaly,
            root_cause_analysis=parent.root_cause_analysis,
            service=parent.service,
            root_cause_category=parent.root_cause_category,
            fingerprint=parent.fingerprint,
            generated_script=generated_script,
            rollback_script=rollback_script,
            script_language=parent.script_language,
            target_system=parent.target_system,
            explanation=note or parent.explanation,
            generator=Generator.REVISION,
            template=parent.template,
            template_version=parent.template_version,
            confidence_score=confidence.score,
            confidence_level=str(confidence.level),
            confidence_factors=confidence.factors,
            revision=parent.revision + 1,
            parent=parent,
            revised_by=user,
            requested_by=parent.requested_by,
            embedding=parent.embedding,
            embedding_model=parent.embedding_model,
        )
        record_event(
            actor=Actor.of(user),
            verb="script.revised",
            object_type="script",
            object_id=revision.pk,
            before={"revision": parent.revision, "script_id": str(parent.pk)},
            after={"revision": revision.revision},
            details={"note": note, "diff": revision_diff(parent, revision)[:20000]},
        )
        revision = store_validation(script=revision, result=result, actor=Actor.of(user))
        revision = route_script(script=revision, allow_auto_approve=False)
    return revision


def revision_diff(old: RemediationScript, new: RemediationScript) -> str:
    return "".join(
        difflib.unified_diff(
            old.generated_script.splitlines(keepends=True),
            new.generated_script.splitlines(keepends=True),
            fromfile=f"revision {old.revision}",
            tofile=f"revision {new.revision}",
        )
    )


def comment_create(*, script: RemediationScript, user: Any, body: str, line: int | None = None) -> ReviewComment:
    if is_agent(user) or not has_role(user, Role.SUPERVISOR, Role.OPERATOR):
        raise ActionForbidden("Only supervisors and operators can comment.", code="role_required")
    refuse_nul_characters(body=body)
    if not body.strip():
        raise InvalidInput("A comment needs a body.", field="body")
    line_count = len(script.generated_script.splitlines())
    if line is not None and not 1 <= line <= max(line_count, 1):
        raise InvalidInput(f"Line {line} is outside the script (1-{line_count}).", field="line")
    with transaction.atomic():
        comment = ReviewComment.objects.create(script=script, author=user, body=body, line=line)
        record_event(
            actor=Actor.of(user),
            verb="comment.created",
            object_type="script",
            object_id=script.pk,
            after={"comment_id": comment.pk, "line": line},
        )
    return comment


def revision_chain(
    script: RemediationScript, *, queryset: QuerySet[RemediationScript] | None = None
) -> list[RemediationScript]:
    """All revisions of the remediation this script belongs to, oldest first, from one query.

    Revisions share the anomaly and fingerprint; ``queryset`` lets a caller choose the columns or
    related rows it needs (the admin loads a few columns, the API the serializer's relations).
    """
    base = queryset if queryset is not None else RemediationScript.objects.all()
    candidates = list(base.filter(anomaly_id=script.anomaly_id, fingerprint=script.fingerprint))
    by_id = {c.pk: c for c in candidates}
    children: dict[Any, list[RemediationScript]] = defaultdict(list)
    for candidate in candidates:
        children[candidate.parent_id].append(candidate)
    root = by_id.get(script.pk, script)
    while root.parent_id in by_id:
        root = by_id[root.parent_id]
    chain = [root]
    while children.get(chain[-1].pk):
        chain.append(min(children[chain[-1].pk], key=lambda c: c.revision))
    return chain
