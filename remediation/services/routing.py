"""Apply the routing policy to a freshly validated script: auto-approve HIGH, or ask a person."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from remediation.confidence import Level
from remediation.lifecycle import POLICY, record_event, transition_script
from remediation.models import (
    ApprovalDecision,
    ApprovalStatus,
    RemediationScript,
    ServiceBudget,
    ValidationStatus,
)
from remediation.policy import PolicyKnobs, route


def policy_knobs(service: str) -> PolicyKnobs:
    budget = ServiceBudget.objects.for_service(service)
    return PolicyKnobs(
        auto_execute_high=settings.AUTO_EXECUTE_HIGH,
        never_auto_execute_services=tuple(settings.NEVER_AUTO_EXECUTE_SERVICES),
        never_auto_execute_languages=tuple(settings.NEVER_AUTO_EXECUTE_LANGUAGES),
        service_allows_auto_execute=budget.auto_execute if budget else True,
    )


def route_script(*, script: RemediationScript, allow_auto_approve: bool = True) -> RemediationScript:
    """Route by confidence level; the LLM and the RCA text have no say. Call inside a transaction.

    A person's revision is never approved by the policy (``allow_auto_approve=False``): four-eyes.
    """
    decision = route(
        level=Level(script.confidence_level),
        validation_passed=script.validation_status == ValidationStatus.PASSED,
        service=script.service,
        language=script.script_language,
        knobs=policy_knobs(script.service),
    )
    from remediation.services import notify

    if decision.auto_approve and allow_auto_approve:
        script = transition_script(
            script.pk,
            field="approval_status",
            target=ApprovalStatus.APPROVED,
            actor=POLICY,
            verb="script.approved",
            updates={"approved_at": timezone.now()},
            details={"reason": decision.reason, "confidence_factors": script.confidence_factors},
        )
        ApprovalDecision.objects.create(
            script=script,
            decision=ApprovalDecision.Decision.APPROVED,
            actor=None,
            actor_kind="policy",
            justification=decision.reason,
            script_sha256=script.script_sha256,
            rollback_sha256=script.rollback_sha256,
        )
        from remediation.services.execution import script_execute_queue

        return script_execute_queue(script=script, actor=POLICY, auto=True)

    expires_at = timezone.now() + timedelta(hours=settings.APPROVAL_EXPIRE_AFTER_HOURS)
    RemediationScript.objects.filter(pk=script.pk).update(
        needs_detailed_review=decision.needs_detailed_review, approval_expires_at=expires_at
    )
    script.needs_detailed_review = decision.needs_detailed_review
    script.approval_expires_at = expires_at
    record_event(
        actor=POLICY,
        verb="script.review_requested",
        object_type="script",
        object_id=script.pk,
        after={"needs_detailed_review": decision.needs_detailed_review, "approval_expires_at": str(expires_at)},
        details={"reason": decision.reason, "level": script.confidence_level},
    )
    if script.validation_status == ValidationStatus.FAILED:
        notify.notify_unsafe_script(script)
    else:
        notify.notify_script_needs_review(script)
    return script
