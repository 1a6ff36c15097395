"""Validate a stored script (and its rollback) and record the report through the lifecycle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from remediation.dispatch import enqueue_on_commit
from remediation.errors import TransitionRefused
from remediation.lifecycle import Actor, transition_script
from remediation.models import (
    ApprovalStatus,
    ExecutionStatus,
    RemediationScript,
    ServiceBudget,
    ValidationReport,
    ValidationStatus,
)
from remediation.validation import (
    Severity,
    Strictness,
    TargetSystem,
    ValidationContext,
    ValidationResult,
    validate_script,
)
from sandbox.limits import SandboxLimits


def execution_limits_for(budget: ServiceBudget | None) -> SandboxLimits:
    """The tighter of the global limits (settings) and the service's budget: what a run may use, and so
    what the validator holds a script to."""
    seconds = settings.MAX_SCRIPT_EXECUTION_TIME
    memory = settings.SCRIPT_EXECUTION_MEMORY_LIMIT
    if budget is not None:
        seconds = min(seconds, budget.time_limit_seconds)
        memory = min(memory, budget.memory_limit_mb * 2**20)
    return SandboxLimits(wall_seconds=seconds, memory_bytes=memory)


def validation_context_for(
    *, rca: dict[str, Any], target_system: str, strictness: str | None = None
) -> ValidationContext:
    """Limits and scope from settings, the service's budget and the resources the RCA names."""
    service = str(rca.get("service", ""))
    budget = ServiceBudget.objects.for_service(service)
    limits = execution_limits_for(budget)
    parameters = rca.get("parameters") or {}
    current_config = parameters.get("current_config")
    return ValidationContext(
        target_system=TargetSystem(target_system),
        strictness=Strictness(strictness or settings.VALIDATION_STRICTNESS),
        service=service,
        allowed_namespaces=tuple(budget.allowed_namespaces) if budget else (),
        allowed_databases=tuple(budget.allowed_databases) if budget else (),
        allowed_paths=tuple(budget.allowed_paths) if budget else (),
        allowed_hosts=tuple(budget.allowed_hosts) if budget else (),
        rca_components=tuple(
            {k: str(v) for k, v in component.items() if k in {"kind", "name", "namespace"}}
            for component in rca.get("affected_components", [])
        ),
        current_config=current_config if isinstance(current_config, str) else None,
        max_execution_seconds=int(limits.wall_seconds),
        memory_limit_mb=limits.memory_bytes // 2**20,
        max_container_memory_mb=budget.max_container_memory_mb if budget else None,
    )


@dataclass(frozen=True)
class ScriptValidation:
    forward: ValidationResult
    rollback: ValidationResult | None

    @property
    def passed(self) -> bool:
        return self.forward.passed and (self.rollback is None or self.rollback.passed)

    @property
    def has_minor_findings(self) -> bool:
        results = [self.forward] + ([self.rollback] if self.rollback else [])
        return any(f.severity.rank >= Severity.LOW.rank for r in results for f in r.findings)

    @property
    def duration_ms(self) -> float:
        return self.forward.duration_ms + (self.rollback.duration_ms if self.rollback else 0.0)


def run_validators(
    *, script: str, rollback: str | None, language: str, rca: dict[str, Any], target_system: str
) -> ScriptValidation:
    """Pure validation of a forward script and its rollback; stores nothing."""
    context = validation_context_for(rca=rca, target_system=target_system)
    forward = validate_script(script, language=language, context=context)
    rollback_result = None
    if rollback:
        rollback_result = validate_script(rollback, language=language, context=context.for_rollback())
    return ScriptValidation(forward, rollback_result)


def store_validation(
    *, script: RemediationScript, result: ScriptValidation, actor: Actor, verb: str = "script.validated"
) -> RemediationScript:
    """Record the report and move validation_status through the lifecycle."""
    target = ValidationStatus.PASSED if result.passed else ValidationStatus.FAILED

    def guard(locked: RemediationScript) -> None:
        if locked.approval_status != ApprovalStatus.REQUIRED or locked.execution_status != ExecutionStatus.PENDING:
            raise TransitionRefused(
                "Only a script that is not yet approved or executed can be validated again.", code="illegal_transition"
            )
        if not locked.is_current_revision:
            raise TransitionRefused("This revision was superseded by a newer one.", code="superseded")

    with transaction.atomic():
        script = _transition_with_report(
            script=script, result=result, actor=actor, verb=verb, target=target, guard=guard
        )
    return script


def _transition_with_report(
    *, script: RemediationScript, result: ScriptValidation, actor: Actor, verb: str, target: str, guard: Any
) -> RemediationScript:
    script = transition_script(
        script.pk,
        field="validation_status",
        target=target,
        actor=actor,
        verb=verb,
        guard=guard,
        updates={"validated_at": timezone.now()},
        details={
            "strictness": str(result.forward.strictness),
            "findings": len(result.forward.findings) + (len(result.rollback.findings) if result.rollback else 0),
        },
    )
    ValidationReport.objects.create(
        script=script,
        status=target,
        strictness=str(result.forward.strictness),
        findings=[f.as_dict() for f in result.forward.findings],
        rollback_findings=[f.as_dict() for f in result.rollback.findings] if result.rollback else [],
        side_effects=result.forward.side_effects,
        duration_ms=result.duration_ms,
        validator_versions=result.forward.validator_versions,
        script_sha256=script.script_sha256,
    )
    return script


def script_validate(*, script: RemediationScript, actor: Actor) -> RemediationScript:
    """Validate the stored text again (API: POST scripts/{id}/validate)."""
    if not script.generated_script:
        raise TransitionRefused("There is no script text to validate yet.", code="not_generated")
    result = run_validators(
        script=script.generated_script,
        rollback=script.rollback_script,
        language=script.script_language,
        rca=script.root_cause_analysis,
        target_system=script.target_system,
    )
    return store_validation(script=script, result=result, actor=actor)


def script_validate_queue(*, script: RemediationScript, actor: Actor) -> None:
    """Check the script can be validated now, then validate it on the "validation" queue after commit."""
    if not script.generated_script:
        raise TransitionRefused("There is no script text to validate yet.", code="not_generated")
    if script.approval_status != ApprovalStatus.REQUIRED or script.execution_status != ExecutionStatus.PENDING:
        raise TransitionRefused(
            "Only a script that is not yet approved or executed can be validated again.", code="illegal_transition"
        )
    from remediation.lifecycle import record_event

    with transaction.atomic():
        record_event(actor=actor, verb="script.validation_requested", object_type="script", object_id=script.pk)
        enqueue_on_commit("remediation.tasks.validate_script_task", str(script.pk))
