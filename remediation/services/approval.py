"""Approve, reject, expire and escalate: a person's decisions on one revision.

Who may approve (enforced here, whatever a request body says): a person (never an agent token,
never the LLM) in the supervisor role, scoped to the script's service, who neither requested the
remediation nor wrote this revision. Only a current revision whose validation PASSED can be
approved, and only before its approval expires. LOW-confidence scripts need a written
justification and, with LOW_CONFIDENCE_QUORUM > 1, that many distinct supervisors. An approval
binds the SHA-256 of the exact script and rollback text.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from remediation.access import Role, has_role, is_agent, may_act_on_service
from remediation.errors import ActionForbidden, InvalidInput, TransitionRefused
from remediation.lifecycle import SYSTEM, Actor, record_event, transition_script
from remediation.models import (
    ApprovalDecision,
    ApprovalStatus,
    ConfidenceLevel,
    RemediationScript,
    ValidationStatus,
)
from remediation.notifications.events import NotificationEvent
from remediation.text_input import refuse_nul_characters


def _check_supervisor(*, script: RemediationScript, user: Any, action: str) -> None:
    if is_agent(user):
        raise ActionForbidden(f"Agents can never {action} a script.", code="agent_forbidden")
    if not has_role(user, Role.SUPERVISOR):
        raise ActionForbidden(f"Only supervisors can {action} a script.", code="role_required")
    if not may_act_on_service(user, script.service):
        raise ActionForbidden(f"You are not scoped to service {script.service!r}.", code="service_scope")


def _approval_guard(user: Any, justification: str) -> Any:
    def guard(script: RemediationScript) -> None:
        if not script.is_current_revision:
            raise TransitionRefused("This revision was superseded; approve the newest one.", code="superseded")
        if script.validation_status != ValidationStatus.PASSED:
            raise TransitionRefused(
                f"Only a script whose validation PASSED can be approved (it is {script.validation_status}).",
                code="validation_not_passed",
            )
        if script.approval_expires_at and script.approval_expires_at <= timezone.now():
            raise TransitionRefused(
                "The approval window has expired; the script can no longer run.", code="approval_expired"
            )
        if script.requested_by_id is not None and script.requested_by_id == user.pk:
            raise ActionForbidden("Four-eyes: the requester of a remediation cannot approve it.", code="four_eyes")
        if script.revised_by_id is not None and script.revised_by_id == user.pk:
            raise ActionForbidden("Four-eyes: the author of a revision cannot approve it.", code="four_eyes")
        if script.confidence_level == ConfidenceLevel.LOW and not justification.strip():
            raise InvalidInput(
                "Approving a LOW-confidence script needs a written justification.", field="justification"
            )

    return guard


def script_approve(*, script: RemediationScript, user: Any, justification: str = "") -> RemediationScript:
    refuse_nul_characters(justification=justification)
    _check_supervisor(script=script, user=user, action="approve")
    actor = Actor.of(user)
    guard = _approval_guard(user, justification)
    quorum = settings.LOW_CONFIDENCE_QUORUM if script.confidence_level == ConfidenceLevel.LOW else 1
    with transaction.atomic():
        locked = RemediationScript.objects.select_for_update().get(pk=script.pk)
        if locked.approval_status != ApprovalStatus.REQUIRED:
            raise TransitionRefused(
                f"approval_status cannot change from {locked.approval_status} to APPROVED.",
                code="illegal_transition",
                field="approval_status",
            )
        guard(locked)
        approvers = set(
            locked.approval_decisions.filter(
                decision=ApprovalDecision.Decision.APPROVED, actor__isnull=False, script_sha256=locked.script_sha256
            ).values_list("actor_id", flat=True)
        )
        if user.pk in approvers:
            raise TransitionRefused("You already approved this revision; another supervisor must.", code="quorum")
        ApprovalDecision.objects.create(
            script=locked,
            decision=ApprovalDecision.Decision.APPROVED,
            actor=user,
            justification=justification,
            script_sha256=locked.script_sha256,
            rollback_sha256=locked.rollback_sha256,
            expires_at=locked.approval_expires_at,
        )
        if len(approvers) + 1 < quorum:
            record_event(
                actor=actor,
                verb="script.approval_recorded",
                object_type="script",
                object_id=locked.pk,
                details={"approvals": len(approvers) + 1, "quorum": quorum, "justification": justification},
            )
            return locked
        return transition_script(
            locked.pk,
            field="approval_status",
            target=ApprovalStatus.APPROVED,
            actor=actor,
            verb="script.approved",
            guard=guard,
            updates={"approved_at": timezone.now()},
            details={"justification": justification, "script_sha256": locked.script_sha256},
        )


def script_reject(*, script: RemediationScript, user: Any, justification: str) -> RemediationScript:
    refuse_nul_characters(justification=justification)
    _check_supervisor(script=script, user=user, action="reject")
    if not justification or not justification.strip():
        raise InvalidInput("A rejection needs a justification.", field="justification")
    with transaction.atomic():
        script = transition_script(
            script.pk,
            field="approval_status",
            target=ApprovalStatus.REJECTED,
            actor=Actor.of(user),
            verb="script.rejected",
            details={"justification": justification},
        )
        ApprovalDecision.objects.create(
            script=script,
            decision=ApprovalDecision.Decision.REJECTED,
            actor=user,
            justification=justification,
            script_sha256=script.script_sha256,
            rollback_sha256=script.rollback_sha256,
        )
    return script


def approvals_sweep(*, now: Any = None) -> dict[str, int]:
    """Expire approvals past their deadline, warn about those close to it, escalate those waiting
    past the SLA (periodic task). Each warning and escalation is sent once."""
    now = now or timezone.now()
    escalated = expired = warned = 0
    escalate_before = now - timedelta(hours=settings.APPROVAL_ESCALATE_AFTER_HOURS)
    waiting = RemediationScript.objects.filter(
        approval_status=ApprovalStatus.REQUIRED, is_current_revision=True, approval_expires_at__isnull=False
    )
    for script in waiting.filter(approval_expires_at__lte=now):
        try:
            transition_script(
                script.pk,
                field="approval_status",
                target=ApprovalStatus.EXPIRED,
                actor=SYSTEM,
                verb="script.approval_expired",
                details={"expired_at": str(script.approval_expires_at)},
            )
            expired += 1
        except TransitionRefused:
            continue
    warn_before = now + timedelta(minutes=settings.APPROVAL_EXPIRING_NOTICE_MINUTES)
    for script in waiting.filter(
        approval_expires_at__gt=now, approval_expires_at__lte=warn_before, approval_expiry_warned_at__isnull=True
    ):
        warned += _announce_once(
            script,
            "approval_expiry_warned_at",
            now,
            verb="script.approval_expiring",
            event=NotificationEvent.APPROVAL_EXPIRING,
            details={"expires_at": str(script.approval_expires_at)},
        )
    for script in waiting.filter(
        approval_expires_at__gt=now, approval_escalated_at__isnull=True, created_at__lte=escalate_before
    ):
        escalated += _announce_once(
            script,
            "approval_escalated_at",
            now,
            verb="script.approval_escalated",
            event=NotificationEvent.APPROVAL_ESCALATED,
            details={"waiting_since": str(script.created_at)},
        )
    return {"escalated": escalated, "expired": expired, "warned": warned}


def _announce_once(
    script: RemediationScript, stamp: str, now: Any, *, verb: str, event: NotificationEvent, details: dict[str, str]
) -> int:
    """Set ``stamp`` if still unset (compare-and-swap), audit and notify; 1 when this call did it."""
    from remediation.services.notify import notify_approval

    with transaction.atomic():
        if not RemediationScript.objects.filter(pk=script.pk, **{f"{stamp}__isnull": True}).update(**{stamp: now}):
            return 0
        record_event(actor=SYSTEM, verb=verb, object_type="script", object_id=script.pk, details=details)
        notify_approval(script, event=event)
    return 1
