"""Notifications: record each one, then deliver it from Celery after commit (never blocking the workflow)."""

from __future__ import annotations

import logging
import os
from typing import Any

from django.conf import settings
from django.utils import timezone

from remediation.dispatch import enqueue_on_commit
from remediation.models import NotificationRecord, RemediationScript
from remediation.notifications.channels import deliver
from remediation.notifications.config import NotificationConfigError, channels_from_env
from remediation.notifications.events import Notification, NotificationEvent

logger = logging.getLogger(__name__)


def _script_url(script: RemediationScript) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/admin/remediation/remediationscript/{script.pk}/change/"


def notify(
    *,
    event: NotificationEvent,
    title: str,
    body: str,
    severity: str,
    object_id: str = "",
    details: dict[str, Any] | None = None,
) -> NotificationRecord:
    """Store the notification and send it once the surrounding transaction commits."""
    record = NotificationRecord.objects.create(
        event=event.value,
        title=title[:300],
        body=body,
        object_id=object_id,
        severity=severity,
    )
    enqueue_on_commit("remediation.tasks.send_notification_task", record.pk)
    return record


def notification_deliver(*, record: NotificationRecord) -> bool:
    """Send a stored notification on every configured channel; True when nothing needs a retry."""
    try:
        channels = channels_from_env(os.environ)
    except NotificationConfigError as exc:
        # Retrying cannot fix configuration; record why, never the value (it may be a secret).
        record.attempts += 1
        record.status = NotificationRecord.Status.FAILED
        record.channel_results = [{"channel": "configuration", "ok": False, "status": None, "error": str(exc)}]
        record.save(update_fields=["attempts", "channel_results", "status"])
        logger.error("notification %s not sent: %s", record.pk, exc)
        return True
    notification = Notification(
        event=NotificationEvent(record.event),
        title=record.title,
        body=record.body,
        url=None,
        severity=record.severity,
        object_id=record.object_id or None,
        details={},
        notification_id=str(record.pk),
    )
    results = deliver(notification, channels)
    record.attempts += 1
    record.channel_results = [{"channel": r.channel, "ok": r.ok, "status": r.status, "error": r.error} for r in results]
    if not channels:
        record.status = NotificationRecord.Status.LOGGED
        logger.info("notification %s: %s", record.event, record.title)
    elif all(r.ok for r in results):
        record.status = NotificationRecord.Status.SENT
        record.sent_at = timezone.now()
    else:
        record.status = NotificationRecord.Status.FAILED
        for r in results:
            if not r.ok:
                logger.warning("notification %s via %s failed: %s", record.pk, r.channel, r.error)
    record.save(update_fields=["attempts", "channel_results", "status", "sent_at"])
    return not any(not r.ok and r.retryable for r in results)


def _describe(script: RemediationScript) -> str:
    return (
        f"{script.root_cause_category} on {script.target_system} for service {script.service or '-'}\n"
        f"Confidence {script.confidence_score} ({script.confidence_level}); "
        f"validation {script.validation_status}; approval {script.approval_status}.\n"
        f"{_script_url(script)}"
    )


def notify_script_needs_review(script: RemediationScript) -> None:
    reason = script.error or ("detailed review needed" if script.needs_detailed_review else "approval needed")
    notify(
        event=NotificationEvent.SCRIPT_NEEDS_REVIEW,
        title=f"Remediation needs review: {script.root_cause_category} ({script.confidence_level})",
        body=f"{_describe(script)}\n{reason}",
        severity="warning",
        object_id=str(script.pk),
    )


def notify_unsafe_script(script: RemediationScript) -> None:
    notify(
        event=NotificationEvent.UNSAFE_SCRIPT_DETECTED,
        title=f"Unsafe remediation script refused: {script.root_cause_category}",
        body=_describe(script),
        severity="critical",
        object_id=str(script.pk),
    )


def notify_high_auto_executed(script: RemediationScript) -> None:
    notify(
        event=NotificationEvent.HIGH_AUTO_EXECUTED,
        title=f"HIGH-confidence remediation executed automatically: {script.root_cause_category}",
        body=f"{_describe(script)}\nExecution: {script.execution_status}.",
        severity="info",
        object_id=str(script.pk),
    )


def notify_execution_failed(script: RemediationScript, reason: str) -> None:
    notify(
        event=NotificationEvent.EXECUTION_FAILED,
        title=f"Remediation execution failed: {script.root_cause_category}",
        body=f"{_describe(script)}\n{reason}",
        severity="critical",
        object_id=str(script.pk),
    )


def notify_template_quarantined(template: Any) -> None:
    notify(
        event=NotificationEvent.TEMPLATE_QUARANTINED,
        title=f"Template quarantined: {template.name}",
        body=f"{template.quarantine_reason}. A supervisor can release it in the admin.",
        severity="warning",
        object_id=str(template.pk),
    )


def notify_approval(script: RemediationScript, *, event: NotificationEvent) -> None:
    notify(
        event=event,
        title=f"Approval {'escalated' if event is NotificationEvent.APPROVAL_ESCALATED else 'expiring'}: "
        f"{script.root_cause_category}",
        body=f"{_describe(script)}\nExpires at {script.approval_expires_at:%Y-%m-%d %H:%M UTC}.",
        severity="warning",
        object_id=str(script.pk),
    )
