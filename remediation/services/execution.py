"""Execution: queue an approved script, then rehearse it in the sandbox and run it against the target.

A run is start, run, terminate (after NetBox's JobRunner): an expected failure (non-zero exit,
time or memory limit) is FAILED or TIMED_OUT; an unexpected exception is ERRORED with its traceback.
Celery delivers at least once, so :func:`execution_perform` is idempotent: it only starts from a
QUEUED script, and each stage's run is keyed ``<script>:<stage>:<attempt>`` and claimed as a lease.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from remediation.dispatch import enqueue_on_commit
from remediation.errors import TransitionRefused
from remediation.lifecycle import SYSTEM, Actor, transition_run, transition_script
from remediation.live_events import LivePublisher, LogLineEvent, StatusEvent
from remediation.models import (
    ApprovalDecision,
    ApprovalStatus,
    ExecutionEnvironment,
    ExecutionLogLine,
    ExecutionRun,
    ExecutionStatus,
    RemediationScript,
    RollbackStatus,
    RunStatus,
    ServiceBudget,
    ValidationStatus,
)
from remediation.services.target_runners import StageRunner, rehearsal_runner, target_runner

logger = logging.getLogger(__name__)

#: SANDBOX_BACKEND value under which agents on the hosts run bash and python scripts.
AGENT_BACKEND = "agent"
AGENT_LANGUAGES = frozenset({"bash", "python"})

#: Stored log text per run is capped; every line is also kept as its own row up to this count.
MAX_LOG_LINES = 20_000


def approval_binding_error(script: RemediationScript) -> str:
    """Why the approved text is not the text about to run, or '' when it is."""
    decision = (
        script.approval_decisions.filter(decision=ApprovalDecision.Decision.APPROVED).order_by("-created_at").first()
    )
    if decision is None:
        return "no approval decision is recorded"
    if decision.script_sha256 != script.script_sha256 or decision.rollback_sha256 != script.rollback_sha256:
        return "the script text changed after it was approved (SHA-256 mismatch)"
    if decision.expires_at and decision.expires_at <= timezone.now():
        return "the approval expired before execution"
    return ""


def _queue_guard(script: RemediationScript) -> None:
    if script.approval_status != ApprovalStatus.APPROVED:
        raise TransitionRefused(
            f"Only an APPROVED script can be executed (it is {script.approval_status}).", code="not_approved"
        )
    if script.validation_status != ValidationStatus.PASSED:
        raise TransitionRefused("Only a script whose validation PASSED can be executed.", code="validation_not_passed")
    if not script.is_current_revision:
        raise TransitionRefused("This revision was superseded.", code="superseded")
    problem = approval_binding_error(script)
    if problem:
        raise TransitionRefused(f"Refused: {problem}.", code="approval_binding")


def script_execute_queue(*, script: RemediationScript, actor: Actor, auto: bool = False) -> RemediationScript:
    """Queue an approved script for execution; the task runs after commit."""
    with transaction.atomic():
        script = transition_script(
            script.pk,
            field="execution_status",
            target=ExecutionStatus.QUEUED,
            actor=actor,
            verb="script.execution_queued",
            guard=_queue_guard,
            details={"automatic": auto},
        )
        enqueue_on_commit("remediation.tasks.execute_script_task", str(script.pk))
    return script


def execution_limits(script: RemediationScript) -> Any:
    from remediation.services.validation import execution_limits_for

    return execution_limits_for(ServiceBudget.objects.for_service(script.service))


@dataclass
class StageOutcome:
    status: str
    exit_code: int | None
    killed_reason: str = ""
    error: str = ""
    resource_usage: dict[str, Any] | None = None
    snapshot: dict[str, Any] | None = None


class RunLog:
    """Stores each output line and publishes it live, in small batches so a chatty script is not slowed.

    Rows are written on the run's own thread (its database connection and transaction); publishing
    happens on a background thread. Lines are flushed every ``FLUSH_LINES`` lines or
    ``FLUSH_SECONDS`` seconds, whichever comes first, and at the end of the run.
    """

    FLUSH_LINES = 50
    FLUSH_SECONDS = 0.2

    def __init__(self, run: ExecutionRun) -> None:
        self.run = run
        self.seq = run.log_lines.count()
        self.parts: list[str] = [run.log] if run.log else []
        self._pending: list[ExecutionLogLine] = []
        self._events: list[LogLineEvent] = []
        self._flushed_at = time.monotonic()
        self._publisher = LivePublisher(str(run.pk))

    def __call__(self, stream: str, text: str) -> None:
        self.seq += 1
        if self.seq <= MAX_LOG_LINES:
            self._pending.append(ExecutionLogLine(run=self.run, seq=self.seq, stream=stream, text=text))
        self.parts.append(f"[{stream}] {text}" if stream == "stderr" else text)
        self._events.append(
            {"type": "log", "run_id": str(self.run.pk), "seq": self.seq, "stream": stream, "text": text}
        )
        if len(self._events) >= self.FLUSH_LINES or time.monotonic() - self._flushed_at >= self.FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            ExecutionLogLine.objects.bulk_create(self._pending)
            self._pending = []
        self._publisher.send(self._events)
        self._events = []
        self._flushed_at = time.monotonic()

    def close(self, final_event: StatusEvent | None = None) -> None:
        self.flush()
        if final_event is not None:
            self._publisher.send([final_event])
        self._publisher.close()

    @property
    def text(self) -> str:
        return "\n".join(self.parts)


def _start_run(script: RemediationScript, environment: str, attempt: int, worker: str, key: str) -> ExecutionRun | None:
    """Create and claim the stage's run; None when another worker already holds it."""
    try:
        with transaction.atomic():
            run = ExecutionRun.objects.create(
                script=script,
                environment=environment,
                backend=settings.SANDBOX_BACKEND,
                attempt=attempt,
                idempotency_key=key,
                script_sha256=script.script_sha256,
            )
    except IntegrityError:
        run = ExecutionRun.objects.get(idempotency_key=key)
        if run.status != RunStatus.PENDING:
            return None
    lease = timezone.now() + timedelta(seconds=settings.EXECUTION_LEASE_SECONDS)
    run = transition_run(
        run.pk,
        target=RunStatus.CLAIMED,
        actor=SYSTEM,
        verb="run.claimed",
        updates={"worker": worker, "lease_expires_at": lease},
    )
    return transition_run(
        run.pk,
        target=RunStatus.RUNNING,
        actor=SYSTEM,
        verb="run.started",
        updates={"started_at": timezone.now(), "heartbeat_at": timezone.now()},
    )


def _finish_run(run: ExecutionRun, outcome: StageOutcome, log: RunLog) -> ExecutionRun:
    log.flush()  # every line row exists before the run reports its final status
    updates: dict[str, Any] = {
        "finished_at": timezone.now(),
        "exit_code": outcome.exit_code,
        "killed_reason": outcome.killed_reason,
        "log": log.text[-1_000_000:],
        "log_truncated": len(log.text) > 1_000_000,
        "error": outcome.error,
        "resource_usage": outcome.resource_usage or {},
        "lease_expires_at": None,
    }
    if outcome.snapshot is not None:
        updates["snapshot"] = outcome.snapshot
        updates["rollback_status"] = RollbackStatus.AVAILABLE
    if outcome.status == RunStatus.ERRORED:
        updates["traceback"] = outcome.error
    run = transition_run(
        run.pk,
        target=outcome.status,
        actor=SYSTEM,
        verb="run.finished",
        updates=updates,
        details={"exit_code": outcome.exit_code, "killed_reason": outcome.killed_reason},
    )
    status_event: StatusEvent = {
        "type": "status",
        "run_id": str(run.pk),
        "seq": log.seq + 1,
        "status": run.status,
        "exit_code": run.exit_code,
    }
    log.close(status_event)
    return run


def run_stage(
    script: RemediationScript,
    environment: str,
    attempt: int,
    worker: str,
    runner: StageRunner,
    *,
    key: str | None = None,
) -> ExecutionRun | None:
    """Run one stage as a claimed, heart-beating ExecutionRun; None when another worker holds it."""
    run = _start_run(script, environment, attempt, worker, key or f"{script.pk}:{environment}:{attempt}")
    if run is None:
        return None
    log = RunLog(run)
    heartbeat = LeaseHeartbeat(run.pk)
    heartbeat.start()
    try:
        outcome = runner(script, run, log)
    except Exception:  # noqa: BLE001 - any unexpected error makes the run ERRORED, traceback kept
        outcome = StageOutcome(status=RunStatus.ERRORED, exit_code=None, error=traceback.format_exc())
    finally:
        heartbeat.stop()
    return _finish_run(run, outcome, log)


class LeaseHeartbeat:
    """Renews a run's lease from a background thread while the run's own thread is busy running it.

    The lease, not the broker's unacknowledged message, is what says a run is alive: RabbitMQ's
    consumer timeout would otherwise kill a worker holding a long run.
    """

    def __init__(self, run_id: UUID | str) -> None:
        self.run_id = run_id
        self.interval = max(1.0, settings.EXECUTION_LEASE_SECONDS / 3)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{run_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        from django.db import connection

        try:
            while not self._stopped.wait(self.interval):
                now = timezone.now()
                ExecutionRun.objects.filter(pk=self.run_id, status=RunStatus.RUNNING).update(
                    heartbeat_at=now, lease_expires_at=now + timedelta(seconds=settings.EXECUTION_LEASE_SECONDS)
                )
        finally:
            connection.close()


class _BindingBroken(TransitionRefused):
    """The text about to run is not the text that was approved (or the approval lapsed)."""


def execution_perform(*, script_id: UUID | str, worker: str | None = None) -> RemediationScript:
    """Rehearse in the sandbox, then run against the target. Idempotent (see module docstring)."""
    worker = worker or socket.gethostname()
    script = RemediationScript.objects.get(pk=script_id)
    if script.execution_status != ExecutionStatus.QUEUED:
        return script
    if settings.SANDBOX_BACKEND == AGENT_BACKEND and script.script_language in AGENT_LANGUAGES:
        return script  # agents on the hosts claim it through the API

    def binding_holds(locked: RemediationScript) -> None:
        # Checked on the locked row whose text the runners then use: an edit committed after any
        # earlier check can never run unapproved.
        problem = approval_binding_error(locked)
        if problem:
            raise _BindingBroken(f"Refused at the last check: {problem}.")

    try:
        script = transition_script(
            script.pk,
            field="execution_status",
            target=ExecutionStatus.RUNNING,
            actor=SYSTEM,
            verb="script.execution_started",
            guard=binding_holds,
            updates={"executed_at": timezone.now()},
        )
    except _BindingBroken as refused:
        return execution_failed(RemediationScript.objects.get(pk=script_id), refused.message)
    except TransitionRefused:
        return RemediationScript.objects.get(pk=script_id)
    attempt = ExecutionRun.objects.filter(script=script, environment=ExecutionEnvironment.SANDBOX).count() + 1

    rehearsal = run_stage(script, ExecutionEnvironment.SANDBOX, attempt, worker, rehearsal_runner(script))
    if rehearsal is None:
        return RemediationScript.objects.get(pk=script_id)
    if rehearsal.status != RunStatus.SUCCESS:
        return execution_failed(
            script,
            f"Sandbox rehearsal {rehearsal.status.lower()}: "
            f"{rehearsal.error.splitlines()[-1] if rehearsal.error else f'exit {rehearsal.exit_code}'}",
        )
    target = run_stage(script, ExecutionEnvironment.TARGET, attempt, worker, target_runner(script))
    if target is None:
        return RemediationScript.objects.get(pk=script_id)
    if target.status != RunStatus.SUCCESS:
        script = execution_failed(
            script, f"Target run {target.status.lower()}: exit {target.exit_code} {target.error[-300:]}"
        )
        from remediation.services.rollback import run_rollback_after_failure

        run_rollback_after_failure(script=script, run=target)
        return RemediationScript.objects.get(pk=script_id)
    return execution_succeeded(script)


def _record_template_outcome(script: RemediationScript, succeeded: bool) -> None:
    if script.template_id is not None:
        from templates_app.services import template_record_outcome

        template_record_outcome(template_id=script.template_id, succeeded=succeeded)


def execution_failed(script: RemediationScript, reason: str, *, actor: Actor = SYSTEM) -> RemediationScript:
    """The script's execution failed: status, template statistics and a notification, in one transaction."""
    from remediation.services.notify import notify_execution_failed

    with transaction.atomic():
        script = transition_script(
            script.pk,
            field="execution_status",
            target=ExecutionStatus.FAILED,
            actor=actor,
            verb="script.execution_failed",
            details={"reason": reason},
        )
        _record_template_outcome(script, succeeded=False)
        notify_execution_failed(script, reason)
    return script


def execution_succeeded(script: RemediationScript, *, actor: Actor = SYSTEM) -> RemediationScript:
    """The script ran successfully: status, template statistics, promotion and notification."""
    from remediation.services.notify import notify_high_auto_executed

    with transaction.atomic():
        script = transition_script(
            script.pk,
            field="execution_status",
            target=ExecutionStatus.SUCCESS,
            actor=actor,
            verb="script.execution_succeeded",
        )
        _record_template_outcome(script, succeeded=True)
        if script.generator == "llm":
            from remediation.services.promotion import propose_template_if_proven

            propose_template_if_proven(script=script)
        auto = script.approval_decisions.filter(actor_kind="policy").exists()
        if auto:
            notify_high_auto_executed(script)
    return script


def script_execute(*, script: RemediationScript, user: Any) -> RemediationScript:
    """A person asks to execute an approved script (API: POST scripts/{id}/execute)."""
    from remediation.access import Role, has_role, is_agent, may_act_on_service
    from remediation.errors import ActionForbidden

    if is_agent(user) or not has_role(user, Role.SUPERVISOR, Role.OPERATOR):
        raise ActionForbidden("Only supervisors and operators can execute scripts.", code="role_required")
    if not may_act_on_service(user, script.service):
        raise ActionForbidden(f"You are not scoped to service {script.service!r}.", code="service_scope")
    return script_execute_queue(script=script, actor=Actor.of(user))


def leases_sweep() -> int:
    """Release runs whose worker stopped heartbeating, and fail their script (periodic task)."""
    released = 0
    for run in ExecutionRun.objects.filter(
        status__in=[RunStatus.CLAIMED, RunStatus.RUNNING], lease_expires_at__lt=timezone.now()
    ):
        if run.backend == "agent" and run.status == RunStatus.CLAIMED:
            # Nothing ran yet: hand the run back so another agent can claim it.
            try:
                transition_run(
                    run.pk,
                    target=RunStatus.PENDING,
                    actor=SYSTEM,
                    verb="run.lease_released",
                    updates={"claimed_by": None, "lease_expires_at": None},
                )
            except TransitionRefused:
                continue
            released += 1
            continue
        try:
            transition_run(
                run.pk,
                target=RunStatus.ERRORED if run.status == RunStatus.RUNNING else RunStatus.FAILED,
                actor=SYSTEM,
                verb="run.lease_expired",
                updates={"error": "the worker stopped heartbeating; lease expired", "finished_at": timezone.now()},
            )
        except TransitionRefused:
            continue
        released += 1
        script = run.script
        if script.execution_status == ExecutionStatus.RUNNING:
            execution_failed(script, "the executing worker disappeared (lease expired); not re-run automatically")
    return released
