"""The one state machine: every status change of a script or an execution run happens here.

Each transition locks the row (``SELECT ... FOR UPDATE``), checks the move against the table below
and the caller's guard, saves, and writes its :class:`AuditEvent` in the same transaction. Of two
concurrent calls on one row the second waits for the lock, then sees the new status and is
refused: exactly one wins, the other gets :class:`TransitionRefused` (HTTP 409).

Script transitions (field: source -> target):

- validation_status: PENDING|PASSED|FAILED -> PASSED|FAILED (re-validation only before approval)
- approval_status:   REQUIRED -> APPROVED | REJECTED | EXPIRED
- execution_status:  PENDING -> QUEUED -> RUNNING -> SUCCESS | FAILED;
                     PENDING|QUEUED -> CANCELLED; QUEUED -> FAILED (refused at the last check);
                     SUCCESS|FAILED -> ROLLED_BACK; FAILED -> QUEUED (a retry after a failed run)

Run transitions: PENDING -> CLAIMED -> RUNNING -> SUCCESS|FAILED|ERRORED|TIMED_OUT;
PENDING|CLAIMED -> CANCELLED; CLAIMED|RUNNING -> PENDING (a lease that expired is released).

Rollback of a target run (rollback_status): NONE|AVAILABLE|FAILED -> RUNNING -> DONE | FAILED.
Template proposal (status): OPEN -> ACCEPTED | DISMISSED.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from django.db import transaction

from remediation.errors import TransitionRefused
from remediation.models import (
    ActorKind,
    ApprovalStatus,
    AuditEvent,
    ExecutionRun,
    ExecutionStatus,
    RemediationScript,
    RollbackStatus,
    RunStatus,
    ValidationStatus,
)
from remediation.request_id import current_request_id
from templates_app.models import TemplateProposal


@dataclass(frozen=True)
class Actor:
    """Who caused an event: a person, an agent, the routing policy or the system itself."""

    kind: ActorKind
    label: str
    user: Any = None

    @classmethod
    def of(cls, user: Any) -> Actor:
        agent = getattr(user, "agent", None) if user is not None else None
        if agent is not None:
            return cls(ActorKind.AGENT, f"agent:{agent.name}", user)
        return cls(ActorKind.USER, user.get_username(), user)

    @property
    def is_person(self) -> bool:
        return self.kind is ActorKind.USER


POLICY = Actor(ActorKind.POLICY, "routing-policy")
SYSTEM = Actor(ActorKind.SYSTEM, "system")

ScriptStatusField = Literal["validation_status", "approval_status", "execution_status"]

_V, _A, _E = ValidationStatus, ApprovalStatus, ExecutionStatus

SCRIPT_TRANSITIONS: Mapping[tuple[ScriptStatusField, str], frozenset[str]] = {
    ("validation_status", _V.PASSED): frozenset({_V.PENDING, _V.PASSED, _V.FAILED}),
    ("validation_status", _V.FAILED): frozenset({_V.PENDING, _V.PASSED, _V.FAILED}),
    ("approval_status", _A.APPROVED): frozenset({_A.REQUIRED}),
    ("approval_status", _A.REJECTED): frozenset({_A.REQUIRED}),
    ("approval_status", _A.EXPIRED): frozenset({_A.REQUIRED}),
    ("execution_status", _E.QUEUED): frozenset({_E.PENDING, _E.FAILED}),
    ("execution_status", _E.RUNNING): frozenset({_E.QUEUED}),
    ("execution_status", _E.SUCCESS): frozenset({_E.RUNNING}),
    ("execution_status", _E.FAILED): frozenset({_E.RUNNING, _E.QUEUED}),
    ("execution_status", _E.CANCELLED): frozenset({_E.PENDING, _E.QUEUED}),
    ("execution_status", _E.ROLLED_BACK): frozenset({_E.SUCCESS, _E.FAILED}),
}

_R = RunStatus
RUN_TRANSITIONS: Mapping[str, frozenset[str]] = {
    _R.CLAIMED: frozenset({_R.PENDING}),
    _R.RUNNING: frozenset({_R.CLAIMED}),
    _R.SUCCESS: frozenset({_R.RUNNING}),
    _R.FAILED: frozenset({_R.RUNNING, _R.CLAIMED}),
    _R.ERRORED: frozenset({_R.RUNNING, _R.CLAIMED}),
    _R.TIMED_OUT: frozenset({_R.RUNNING}),
    _R.CANCELLED: frozenset({_R.PENDING, _R.CLAIMED}),
    _R.PENDING: frozenset({_R.CLAIMED, _R.RUNNING}),
}
RUN_TERMINAL = frozenset({_R.SUCCESS, _R.FAILED, _R.ERRORED, _R.TIMED_OUT, _R.CANCELLED})

_B = RollbackStatus
#: rollback_status of a target run: NONE (only the script's rollback text) or AVAILABLE (a snapshot)
#: -> RUNNING -> DONE | FAILED; FAILED -> RUNNING is a retry.
ROLLBACK_TRANSITIONS: Mapping[str, frozenset[str]] = {
    _B.RUNNING: frozenset({_B.NONE, _B.AVAILABLE, _B.FAILED}),
    _B.DONE: frozenset({_B.RUNNING}),
    _B.FAILED: frozenset({_B.RUNNING}),
}

Guard = Callable[[Any], None]


def record_event(
    *,
    actor: Actor,
    verb: str,
    object_type: str,
    object_id: object,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. Call it inside the transaction that made the change it describes."""
    return AuditEvent.objects.create(
        actor_kind=actor.kind,
        actor=actor.user,
        actor_label=actor.label,
        verb=verb,
        object_type=object_type,
        object_id=str(object_id),
        before=dict(before or {}),
        after=dict(after or {}),
        details=dict(details or {}),
        request_id=current_request_id(),
    )


def transition_script(
    script_id: UUID | str,
    *,
    field: ScriptStatusField,
    target: str,
    actor: Actor,
    verb: str,
    guard: Guard | None = None,
    updates: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
) -> RemediationScript:
    """Move one status field of a script, under a row lock, with its audit event."""
    script: RemediationScript = _locked_change(
        RemediationScript,
        script_id,
        field=field,
        target=target,
        allowed=SCRIPT_TRANSITIONS.get((field, target), frozenset()),
        actor=actor,
        verb=verb,
        guard=guard,
        updates=updates,
        details=details,
        object_type="script",
        refusal=lambda current: f"{field} cannot change from {current} to {target}.",
    )
    return script


def transition_run(
    run_id: UUID | str,
    *,
    target: str,
    actor: Actor,
    verb: str,
    guard: Guard | None = None,
    updates: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
) -> ExecutionRun:
    """Move an execution run's status, under a row lock, with its audit event."""
    run: ExecutionRun = _locked_change(
        ExecutionRun,
        run_id,
        field="status",
        target=target,
        allowed=RUN_TRANSITIONS.get(target, frozenset()),
        actor=actor,
        verb=verb,
        guard=guard,
        updates=updates,
        details=details,
        object_type="execution_run",
        refusal=lambda current: f"Execution run {run_id} cannot change from {current} to {target}.",
    )
    return run


def transition_rollback(
    run_id: UUID | str,
    *,
    target: str,
    actor: Actor,
    verb: str,
    guard: Guard | None = None,
    details: Mapping[str, Any] | None = None,
) -> ExecutionRun:
    """Move a target run's rollback_status, under a row lock, with its audit event."""
    run: ExecutionRun = _locked_change(
        ExecutionRun,
        run_id,
        field="rollback_status",
        target=target,
        allowed=ROLLBACK_TRANSITIONS.get(target, frozenset()),
        actor=actor,
        verb=verb,
        guard=guard,
        updates=None,
        details=details,
        object_type="execution_run",
        refusal=lambda current: f"Rollback of run {run_id} cannot change from {current} to {target}.",
    )
    return run


_P = TemplateProposal.Status
#: A template proposal is decided once: OPEN -> ACCEPTED | DISMISSED.
PROPOSAL_TRANSITIONS: Mapping[str, frozenset[str]] = {
    _P.ACCEPTED: frozenset({_P.OPEN}),
    _P.DISMISSED: frozenset({_P.OPEN}),
}


def transition_proposal(
    proposal_id: UUID | str,
    *,
    target: str,
    actor: Actor,
    verb: str,
    updates: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
) -> TemplateProposal:
    """Decide a template proposal, under a row lock, with its audit event."""
    proposal: TemplateProposal = _locked_change(
        TemplateProposal,
        proposal_id,
        field="status",
        target=target,
        allowed=PROPOSAL_TRANSITIONS.get(target, frozenset()),
        actor=actor,
        verb=verb,
        guard=None,
        updates=updates,
        details=details,
        object_type="template_proposal",
        refusal=lambda current: f"The proposal is already {current}.",
    )
    return proposal


#: Bulky text fields left out of the audit's "after" (the run record keeps them).
_NOT_AUDITED = frozenset({"log", "traceback"})


def _locked_change(
    model: Any,
    pk: UUID | str,
    *,
    field: str,
    target: str,
    allowed: frozenset[str],
    actor: Actor,
    verb: str,
    guard: Guard | None,
    updates: Mapping[str, Any] | None,
    details: Mapping[str, Any] | None,
    object_type: str,
    refusal: Callable[[str], str],
) -> Any:
    """Lock the row, check the move against ``allowed`` and the guard, save, audit: one transaction."""
    with transaction.atomic():
        row = model.objects.select_for_update().get(pk=pk)
        current = getattr(row, field)
        if current not in allowed:
            raise TransitionRefused(refusal(current), code="illegal_transition", field=field)
        if guard is not None:
            guard(row)
        changes = {field: target, **(updates or {})}
        before = {name: _jsonable(getattr(row, name)) for name in changes}
        for name, value in changes.items():
            setattr(row, name, value)
        row.save(update_fields=list(changes))
        run_context = {"script_id": str(row.script_id)} if object_type == "execution_run" else {}
        record_event(
            actor=actor,
            verb=verb,
            object_type=object_type,
            object_id=row.pk,
            before=before,
            after={name: _jsonable(value) for name, value in changes.items() if name not in _NOT_AUDITED},
            details={**run_context, **(details or {})},
        )
    return row


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)
