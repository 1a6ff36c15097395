"""Execution through the real local sandbox: rehearsal then target, live log lines, rollback, idempotency."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import TestCase

from remediation.lifecycle import POLICY
from remediation.models import ExecutionRun, RemediationScript
from remediation.services.execution import execution_perform, script_execute_queue
from tests.factories import ScriptFactory, record_policy_approval

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("bwrap_available")]


def _approved(script_text: str, rollback: str | None = None) -> RemediationScript:
    script = ScriptFactory(generated_script=script_text, rollback_script=rollback, approval_status="APPROVED")
    record_policy_approval(script)
    return script


def _run(script: RemediationScript) -> RemediationScript:
    with TestCase.captureOnCommitCallbacks(execute=True):
        script_execute_queue(script=script, actor=POLICY)
    script.refresh_from_db()
    return script


def test_an_approved_script_is_rehearsed_then_run_with_its_output_stored_line_by_line() -> None:
    script = _run(_approved('echo "dry run: $REMEDIATION_DRY_RUN"\necho second line\n'))
    assert script.execution_status == "SUCCESS"
    rehearsal, target = (ExecutionRun.objects.get(script=script, environment=env) for env in ("sandbox", "target"))
    assert [line.text for line in rehearsal.log_lines.all()] == ["dry run: 1", "second line"]
    assert [line.text for line in target.log_lines.all()] == ["dry run: 0", "second line"]
    assert target.exit_code == 0 and target.status == "SUCCESS"
    assert target.resource_usage["duration_ms"] > 0


def test_a_failing_rehearsal_never_reaches_the_target() -> None:
    script = _run(_approved('if [ "$REMEDIATION_DRY_RUN" = 1 ]; then echo pre-check failed >&2; exit 3; fi\n'))
    assert script.execution_status == "FAILED"
    assert ExecutionRun.objects.filter(script=script, environment="target").count() == 0
    rehearsal = ExecutionRun.objects.get(script=script, environment="sandbox")
    assert rehearsal.exit_code == 3 and rehearsal.status == "FAILED"


def test_a_failed_target_run_is_rolled_back_automatically() -> None:
    forward = 'if [ "$REMEDIATION_DRY_RUN" = 0 ]; then echo boom >&2; exit 1; fi\n'
    script = _run(_approved(forward, rollback="echo restoring previous state\n"))
    assert script.execution_status == "ROLLED_BACK"
    target = ExecutionRun.objects.get(script=script, environment="target", idempotency_key__endswith=":target:1")
    assert target.rollback_status == "DONE"
    rollback_run = ExecutionRun.objects.get(idempotency_key__startswith=f"rollback:{target.pk}:")
    assert [line.text for line in rollback_run.log_lines.all()] == ["restoring previous state"]


def test_a_redelivered_task_never_runs_the_script_twice() -> None:
    script = _run(_approved("echo once\n"))
    runs_before = ExecutionRun.objects.filter(script=script).count()
    execution_perform(script_id=script.pk)  # Celery redelivery after the first run finished
    assert ExecutionRun.objects.filter(script=script).count() == runs_before


def test_a_script_that_overruns_its_time_budget_is_killed(settings: Any) -> None:
    settings.MAX_SCRIPT_EXECUTION_TIME = 1
    script = _run(_approved("sleep 30\n"))
    assert script.execution_status == "FAILED"
    rehearsal = ExecutionRun.objects.get(script=script, environment="sandbox")
    assert rehearsal.status == "TIMED_OUT" and rehearsal.exit_code == 124


def test_with_the_agent_backend_the_server_leaves_shell_scripts_to_agents(settings: Any) -> None:
    settings.SANDBOX_BACKEND = "agent"
    script = _run(_approved("echo on the host\n"))
    assert script.execution_status == "QUEUED"
    assert not ExecutionRun.objects.filter(script=script).exists()


def test_an_agent_claim_that_lapsed_before_starting_is_handed_back() -> None:
    from datetime import timedelta

    from django.utils import timezone

    from remediation.services.execution import leases_sweep

    script = _approved("echo on the host\n")
    run = ExecutionRun.objects.create(
        script=script,
        environment="target",
        backend="agent",
        status="CLAIMED",
        idempotency_key=f"{script.pk}:agent:1",
        script_sha256=script.script_sha256,
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert leases_sweep() == 1
    run.refresh_from_db()
    assert (run.status, run.claimed_by_id, run.lease_expires_at) == ("PENDING", None, None)
