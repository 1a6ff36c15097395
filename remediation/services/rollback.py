"""Rollback: one call (API and admin), audited; automatic after a failed target run when one exists.

What a rollback does depends on the target: restore the file snapshot (config patch), re-apply the
saved objects (Kubernetes), or run the script's rollback text (bash, python and SQL, through the
same runners and limits as the forward script). The rollback's own output is an ExecutionRun of its
own (idempotency key ``rollback:<run id>:<attempt>``), so it has live logs like any run.
"""

from __future__ import annotations

import socket
from typing import Any
from uuid import UUID

from django.db import transaction

from remediation.access import Role, has_role, is_agent, may_act_on_service
from remediation.dispatch import enqueue_on_commit
from remediation.errors import ActionForbidden, TransitionRefused
from remediation.lifecycle import SYSTEM, Actor, record_event, transition_rollback, transition_script
from remediation.models import (
    ExecutionEnvironment,
    ExecutionRun,
    ExecutionStatus,
    RemediationScript,
    RollbackStatus,
    RunStatus,
)


def _rollback_possible(run: ExecutionRun) -> str:
    """Why this run cannot be rolled back, or ''."""
    if run.environment != ExecutionEnvironment.TARGET:
        return "only a run against the target can be rolled back (a rehearsal changed nothing)"
    if run.status not in (RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.ERRORED, RunStatus.TIMED_OUT):
        return f"the run is {run.status}; wait until it has finished"
    if run.rollback_status == RollbackStatus.DONE:
        return "the run was already rolled back"
    if run.rollback_status == RollbackStatus.RUNNING:
        return "a rollback is already running"
    if not run.snapshot and not run.script.rollback_script:
        return "there is neither a snapshot nor a rollback script for this run"
    return ""


def rollback_request(*, run: ExecutionRun, user: Any) -> ExecutionRun:
    """A person asks to roll a target run back; the rollback runs on the execution queue after commit."""
    if is_agent(user) or not has_role(user, Role.SUPERVISOR, Role.OPERATOR):
        raise ActionForbidden("Only supervisors and operators can roll back.", code="role_required")
    if not may_act_on_service(user, run.script.service):
        raise ActionForbidden(f"You are not scoped to service {run.script.service!r}.", code="service_scope")
    problem = _rollback_possible(run)
    if problem:
        raise TransitionRefused(f"Cannot roll back: {problem}.", code="rollback_refused")
    _enqueue(run, actor=Actor.of(user), automatic=False)
    return run


def run_rollback_after_failure(*, script: RemediationScript, run: ExecutionRun) -> None:
    """After a failed target run: roll back automatically when a snapshot or rollback script exists."""
    problem = _rollback_possible(run)
    if problem:
        record_event(
            actor=SYSTEM,
            verb="rollback.unavailable",
            object_type="execution_run",
            object_id=run.pk,
            details={"reason": problem, "script_id": str(script.pk)},
        )
        return
    _enqueue(run, actor=SYSTEM, automatic=True)


def _enqueue(run: ExecutionRun, *, actor: Actor, automatic: bool) -> None:
    with transaction.atomic():
        record_event(
            actor=actor,
            verb="rollback.requested",
            object_type="execution_run",
            object_id=run.pk,
            details={"script_id": str(run.script_id), "automatic": automatic},
        )
        enqueue_on_commit("remediation.tasks.rollback_run_task", str(run.pk))


def rollback_perform(*, run_id: UUID | str, worker: str | None = None) -> ExecutionRun:
    """Run the rollback of one target run. Idempotent: only one caller moves it to RUNNING."""
    run = ExecutionRun.objects.select_related("script").get(pk=run_id)
    if _rollback_possible(run):
        return run
    try:
        run = transition_rollback(run.pk, target=RollbackStatus.RUNNING, actor=SYSTEM, verb="rollback.started")
    except TransitionRefused:
        return ExecutionRun.objects.get(pk=run_id)
    script = run.script
    from remediation.services.execution import run_stage

    attempt = ExecutionRun.objects.filter(idempotency_key__startswith=f"rollback:{run.pk}:").count() + 1
    rollback_run = run_stage(
        script,
        ExecutionEnvironment.TARGET,
        attempt,
        worker or socket.gethostname(),
        _rollback_runner(run),
        key=f"rollback:{run.pk}:{attempt}",
    )
    succeeded = rollback_run is not None and rollback_run.status == RunStatus.SUCCESS
    with transaction.atomic():
        run = transition_rollback(
            run.pk,
            target=RollbackStatus.DONE if succeeded else RollbackStatus.FAILED,
            actor=SYSTEM,
            verb="rollback.finished",
            details={"rollback_run_id": str(rollback_run.pk) if rollback_run else None},
        )
        if succeeded and script.execution_status in (ExecutionStatus.SUCCESS, ExecutionStatus.FAILED):
            transition_script(
                script.pk,
                field="execution_status",
                target=ExecutionStatus.ROLLED_BACK,
                actor=SYSTEM,
                verb="script.rolled_back",
                details={"run_id": str(run.pk)},
            )
        if not succeeded:
            from remediation.services.notify import notify_execution_failed

            notify_execution_failed(script, f"The rollback of run {run.pk} failed; the target needs a person.")
    return run


def _rollback_runner(run: ExecutionRun) -> Any:
    """Restore the snapshot when the run took one, else run the script's rollback text."""
    from remediation.services import target_runners as runners

    script = run.script
    snapshot = dict(run.snapshot or {})
    if snapshot and script.script_language == "config_patch":
        return _restore_config(snapshot)
    if snapshot and script.script_language == "kubernetes":
        return _restore_kubernetes(snapshot)
    # The rollback text runs only if it is the text that was approved with the script.
    from remediation.services.execution import approval_binding_error

    problem = approval_binding_error(script)
    if problem:
        return runners.unavailable_stage(f"The rollback text is not run: {problem}.")
    if script.script_language == "sql":
        return runners.sql_stage(rehearsal=False, text_of=lambda s: s.rollback_script or "")
    if script.script_language in {"bash", "python"}:
        return runners.sandbox_stage(dry_run=False, text_of=lambda s: s.rollback_script or "")
    return runners.unavailable_stage(f"No way to roll back a {script.script_language} run without a snapshot.")


def _restore_config(snapshot: dict[str, Any]) -> Any:
    from remediation.services.target_runners import from_target_result, service_paths

    def run(script: RemediationScript, run: ExecutionRun, log: Any) -> Any:
        from sandbox.targets.config_patch import restore_config_snapshot

        return from_target_result(restore_config_snapshot(snapshot, allowed_roots=service_paths(script), on_output=log))

    return run


def _restore_kubernetes(snapshot: dict[str, Any]) -> Any:
    from remediation.services.target_runners import from_target_result, kubernetes_client

    def run(script: RemediationScript, run: ExecutionRun, log: Any) -> Any:
        from sandbox.targets.kubernetes_apply import restore_kubernetes_snapshot

        return from_target_result(restore_kubernetes_snapshot(snapshot, api_client=kubernetes_client(), on_output=log))

    return run
