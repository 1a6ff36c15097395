"""Rollback: one call, audited; run automatically when a target run fails and a rollback exists."""

from __future__ import annotations

from typing import Any

from remediation.lifecycle import SYSTEM, record_event
from remediation.models import ExecutionRun, RemediationScript


def run_rollback_after_failure(*, script: RemediationScript, run: ExecutionRun) -> None:
    """Record that an automatic rollback is due; the rollback itself runs in its own task."""
    if not script.rollback_script:
        record_event(actor=SYSTEM, verb="rollback.unavailable", object_type="script", object_id=script.pk,
                     details={"run_id": str(run.pk)})
        return
    from django.db import transaction

    from remediation.tasks import rollback_run_task

    record_event(actor=SYSTEM, verb="rollback.requested", object_type="script", object_id=script.pk,
                 details={"run_id": str(run.pk), "automatic": True})
    run_id = str(run.pk)
    transaction.on_commit(lambda: rollback_run_task.delay(run_id))


def rollback_request(*, run: ExecutionRun, user: Any) -> None:
    raise NotImplementedError
