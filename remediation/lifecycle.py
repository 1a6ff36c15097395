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
    allowed_sources = SCRIPT_TRANSITIONS.get((field, target))
    with transaction.atomic():
        script = RemediationScript.objects.select_for_update().get(pk=script_id)
        current = getattr(script, field)
        if allowed_sources is None or current not in allowed_sources:
            raise TransitionRefused(
                f"{field} cannot change from {current} to {target}.", code="illegal_transition", field=field
            )
        if guard is not None:
            guard(script)
        changes = {field: target, **(updates or {})}
        before = {name: _jsonable(getattr(script, name)) for name in changes}
        for name, value in changes.items():
            setattr(script, name, value)
        script.save(update_fields=list(changes))
        record_event(
            actor=actor,
            verb=verb,
            object_type="script",
            object_id=script.pk,
            before=before,
            after={name: _jsonable(value) for name, value in changes.items()},
            details=details,
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
    with transaction.atomic():
        run = ExecutionRun.objects.select_for_update().get(pk=run_id)
        if run.status not in RUN_TRANSITIONS.get(target, frozenset()):
            raise TransitionRefused(
                f"Execution run {run.pk} cannot change from {run.status} to {target}.", code="illegal_transition"
            )
        if guard is not None:
            guard(run)
        changes = {"status": target, **(updates or {})}
        before = {name: _jsonable(getattr(run, name)) for name in changes}
        for name, value in changes.items():
            setattr(run, name, value)
        run.save(update_fields=list(changes))
        record_event(
            actor=actor,
            verb=verb,
            object_type="execution_run",
            object_id=run.pk,
            before=before,
            after={name: _jsonable(value) for name, value in changes.items() if name not in {"log", "traceback"}},
            details={"script_id": str(run.script_id), **(details or {})},
        )
    return run


def transition_rollback(
    run_id: UUID | str, *, target: str, actor: Actor, verb: str, guard: Guard | None = None,
    details: Mapping[str, Any] | None = None,
) -> ExecutionRun:
    """Move a target run's rollback_status, under a row lock, with its audit event."""
    with transaction.atomic():
        run = ExecutionRun.objects.select_for_update().get(pk=run_id)
        if run.rollback_status not in ROLLBACK_TRANSITIONS.get(target, frozenset()):
            raise TransitionRefused(
                f"Rollback of run {run.pk} cannot change from {run.rollback_status} to {target}.",
                code="illegal_transition",
            )
        if guard is not None:
            guard(run)
        before = run.rollback_status
        run.rollback_status = target
        run.save(update_fields=["rollback_status"])
        record_event(actor=actor, verb=verb, object_type="execution_run", object_id=run.pk,
                     before={"rollback_status": before}, after={"rollback_status": target},
                     details={"script_id": str(run.script_id), **(details or {})})
    return run


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)
