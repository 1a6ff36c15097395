"""Celery tasks: take an id, load the row (exit quietly if it is gone), call one service.

Retry policy lives in the decorators: transient database or broker trouble retries with
exponential backoff and jitter; everything else is recorded by the service as a status.
"""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from remediation.models import ExecutionRun, NotificationRecord, RemediationScript

TRANSIENT = (OperationalError, InterfaceError, ConnectionError)
RETRY = {
    "autoretry_for": TRANSIENT,
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(bind=True, **RETRY)
def generate_script_task(self, script_id: str) -> None:  # type: ignore[no-untyped-def]
    from remediation.llm.client import LlmError
    from remediation.services.generation import script_generate

    if not RemediationScript.objects.filter(pk=script_id).exists():
        return
    try:
        script_generate(script_id=script_id, final_attempt=self.request.retries >= self.max_retries)
    except LlmError as exc:  # only retryable ones escape before the final attempt
        raise self.retry(exc=exc, countdown=min(900, 30 * 2**self.request.retries)) from exc


@shared_task(**RETRY)
def validate_script_task(script_id: str) -> None:
    from remediation.lifecycle import SYSTEM
    from remediation.services.validation import script_validate

    script = RemediationScript.objects.filter(pk=script_id).first()
    if script is not None:
        script_validate(script=script, actor=SYSTEM)


@shared_task(**RETRY)
def execute_script_task(script_id: str) -> None:
    from remediation.services.execution import execution_perform

    if RemediationScript.objects.filter(pk=script_id).exists():
        execution_perform(script_id=script_id)


@shared_task(**RETRY)
def rollback_run_task(run_id: str) -> None:
    from remediation.services.rollback import rollback_perform

    if ExecutionRun.objects.filter(pk=run_id).exists():
        rollback_perform(run_id=run_id)


@shared_task(bind=True, max_retries=5, default_retry_delay=10)
def send_notification_task(self, record_id: int) -> None:  # type: ignore[no-untyped-def]
    from remediation.services.notify import notification_deliver

    record = NotificationRecord.objects.filter(pk=record_id).first()
    if record is not None and not notification_deliver(record=record):
        raise self.retry(countdown=min(300, 10 * 2**self.request.retries))


@shared_task
def approvals_sweep_task() -> None:
    from remediation.services.approval import approvals_sweep

    approvals_sweep()


@shared_task
def leases_sweep_task() -> None:
    from remediation.services.execution import leases_sweep

    leases_sweep()
