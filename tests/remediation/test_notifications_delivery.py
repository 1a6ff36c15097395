"""Notifications: which workflow events record one, and delivery through a real signed webhook.

Delivery goes to an HTTP server this test starts on 127.0.0.1 (NOTIFY_WEBHOOK_URL/SECRET set in the
environment); send_notification_task runs eagerly when the surrounding transaction commits.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from celery.exceptions import Retry

from remediation.errors import InvalidInput, TransitionRefused
from remediation.lifecycle import Actor
from remediation.models import AuditEvent, NotificationRecord
from remediation.notifications.channels import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify_signature,
)
from remediation.services.routing import route_script
from templates_app.models import RemediationTemplate
from templates_app.services import template_record_outcome, template_release
from tests.notifications.local_servers import CannedResponse, RecordingHTTPServer
from tests.remediation.conftest import WEBHOOK_SECRET, make_script, make_template, notifications_for

pytestmark = pytest.mark.django_db

FAILS = "#!/usr/bin/env bash\necho 'no such cache directory' >&2\nexit 2\n"


def _headers(request: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


# --- which events record a notification ---------------------------------------------------------------


def test_needs_review_unsafe_auto_executed_and_failed_are_recorded(
    on_commit: Any, no_notification_channels: None
) -> None:
    medium = make_script(confidence_level="MEDIUM")
    unsafe = make_script(confidence_level="MEDIUM", validation_status="FAILED")
    auto = make_script(confidence_level="HIGH")
    failing = make_script(confidence_level="HIGH", generated_script=FAILS)
    with on_commit():
        for script in (medium, unsafe, auto, failing):
            route_script(script=script)

    def events(script: Any) -> list[str]:
        return [n.event for n in notifications_for(script)]

    assert events(medium) == ["script_needs_review"]
    assert events(unsafe) == ["unsafe_script_detected"]
    assert events(auto) == ["high_auto_executed"]
    assert events(failing) == ["execution_failed"]
    records = NotificationRecord.objects.all()
    assert {r.status for r in records} == {"logged"}, "no channel configured: each is logged, none left pending"
    assert all(r.attempts == 1 for r in records)
    assert notifications_for(unsafe)[0].severity == "critical"


# --- template quarantine ------------------------------------------------------------------------------


def test_three_failures_in_a_row_quarantine_a_template_and_notify_once(
    settings: Any, no_notification_channels: None
) -> None:
    settings.TEMPLATE_QUARANTINE_CONSECUTIVE_FAILURES = 3
    template = make_template()
    template_record_outcome(template_id=template.pk, succeeded=False)
    template_record_outcome(template_id=template.pk, succeeded=False)
    template_record_outcome(template_id=template.pk, succeeded=True)  # a success resets the run of failures
    for _ in range(2):
        assert template_record_outcome(template_id=template.pk, succeeded=False).is_quarantined is False
    third = template_record_outcome(template_id=template.pk, succeeded=False)

    assert third.is_quarantined is True
    assert "3 consecutive failed executions" in third.quarantine_reason
    (notice,) = notifications_for(template, "template_quarantined")
    assert template.name in notice.title
    template_record_outcome(template_id=template.pk, succeeded=False)
    assert len(notifications_for(template, "template_quarantined")) == 1, "notified once, not on every failure"
    assert (
        AuditEvent.objects.filter(
            object_type="template", object_id=str(template.pk), verb="template.quarantined"
        ).count()
        == 1
    )


def test_failed_executions_of_a_templated_script_quarantine_its_template(
    settings: Any, on_commit: Any, no_notification_channels: None
) -> None:
    settings.TEMPLATE_QUARANTINE_CONSECUTIVE_FAILURES = 3
    template = make_template()
    for _ in range(3):
        script = make_script(confidence_level="HIGH", template=template, generated_script=FAILS)
        with on_commit():
            route_script(script=script)
    template.refresh_from_db()
    assert (template.failure_count, template.consecutive_failures, template.is_quarantined) == (3, 3, True)
    assert len(notifications_for(template, "template_quarantined")) == 1
    assert NotificationRecord.objects.filter(event="execution_failed").count() == 3


def test_releasing_a_quarantined_template_needs_a_justification(
    supervisor: Any, no_notification_channels: None
) -> None:
    template = make_template(
        is_quarantined=True, quarantine_reason="3 consecutive failed executions", consecutive_failures=3
    )
    for blank in ("", "   "):
        with pytest.raises(InvalidInput) as refused:
            template_release(template=template, actor=Actor.of(supervisor), justification=blank)
        assert refused.value.field == "justification"
    assert RemediationTemplate.objects.get(pk=template.pk).is_quarantined is True

    released = template_release(template=template, actor=Actor.of(supervisor), justification="path filter fixed in v2")
    assert (released.is_quarantined, released.consecutive_failures) == (False, 0)
    (event,) = AuditEvent.objects.filter(object_type="template", object_id=str(template.pk), verb="template.released")
    assert (event.actor_id, event.details["justification"]) == (supervisor.pk, "path filter fixed in v2")
    with pytest.raises(TransitionRefused):
        template_release(template=released, actor=Actor.of(supervisor), justification="again")


# --- delivery through the signed webhook ----------------------------------------------------------------


def test_a_notification_is_delivered_signed_and_marked_sent(
    webhook_receiver: RecordingHTTPServer, on_commit: Any
) -> None:
    script = make_script(confidence_level="MEDIUM")
    with on_commit():
        route_script(script=script)

    (record,) = notifications_for(script)
    assert record.status == "sent"
    assert record.attempts == 1 and record.sent_at is not None
    assert record.channel_results == [{"channel": "webhook", "ok": True, "status": 200, "error": None}]
    (request,) = webhook_receiver.requests
    assert request.path == "/hooks/remediation"
    headers = _headers(request)
    assert headers[EVENT_HEADER.lower()] == "script_needs_review"
    assert headers[DELIVERY_HEADER.lower()] == str(record.pk)
    secret = WEBHOOK_SECRET
    signature, timestamp = headers[SIGNATURE_HEADER.lower()], headers[TIMESTAMP_HEADER.lower()]
    assert verify_signature(secret, timestamp, request.body, signature)
    assert not verify_signature(secret, timestamp, request.body.replace(b"MEDIUM", b"HIGH"), signature)
    assert not verify_signature("another-secret-of-some-length", timestamp, request.body, signature)
    payload = json.loads(request.body)
    assert (payload["event"], payload["object_id"], payload["title"]) == (
        "script_needs_review",
        str(script.pk),
        record.title,
    )
    assert secret not in request.body.decode()


@pytest.fixture
def eager_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let eager Celery run retries in-process (with task_eager_propagates the first Retry is raised instead)."""
    from config.celery import app

    monkeypatch.setitem(app.conf, "task_eager_propagates", False)


def test_a_server_error_marks_the_record_failed_and_asks_celery_to_retry(
    webhook_receiver: RecordingHTTPServer, on_commit: Any
) -> None:
    webhook_receiver.respond(500, "upstream down")
    script = make_script(confidence_level="MEDIUM")

    # Eager and propagating (the test default): the task's retry request surfaces as celery's Retry.
    with pytest.raises(Retry) as retry, on_commit():
        route_script(script=script)

    assert retry.value.when == 10, "first retry after 10 s, doubling after that"
    (record,) = notifications_for(script)
    assert (record.status, record.attempts, record.sent_at) == ("failed", 1, None)
    assert record.channel_results[0]["status"] == 500 and record.channel_results[0]["ok"] is False
    assert "upstream down" in record.channel_results[0]["error"]
    script.refresh_from_db()
    assert script.approval_status == "REQUIRED", "a failed delivery never undoes the workflow"


def test_a_receiver_that_stays_down_is_tried_six_times_then_given_up(
    webhook_receiver: RecordingHTTPServer, on_commit: Any, eager_retries: None
) -> None:
    webhook_receiver.respond(500, "upstream down")
    script = make_script(confidence_level="MEDIUM")
    with on_commit():
        route_script(script=script)

    (record,) = notifications_for(script)
    assert record.status == "failed"
    assert record.attempts == 6, "the first try and max_retries=5 retries"
    assert len(webhook_receiver.requests) == 6
    assert {_headers(r)[DELIVERY_HEADER.lower()] for r in webhook_receiver.requests} == {str(record.pk)}


class _FlakyServer(RecordingHTTPServer):
    """Answers from a list of statuses, then 200: a receiver that recovers."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        super().__init__()

    @property  # type: ignore[override]
    def response(self) -> CannedResponse:
        if self.statuses:
            return CannedResponse(self.statuses.pop(0), b"try later", {"Content-Type": "text/plain"})
        return CannedResponse()

    @response.setter
    def response(self, value: CannedResponse) -> None:
        pass


def test_a_retry_after_a_server_error_delivers_and_marks_sent(
    monkeypatch: pytest.MonkeyPatch, no_notification_channels: None, on_commit: Any, eager_retries: None
) -> None:
    import threading

    server = _FlakyServer([503, 500])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("NOTIFY_WEBHOOK_URL", f"{server.url}/hook")
        monkeypatch.setenv("NOTIFY_WEBHOOK_SECRET", "another-secret-of-some-length")
        script = make_script(confidence_level="MEDIUM")
        with on_commit():
            route_script(script=script)
    finally:
        server.shutdown()
        server.server_close()
    (record,) = notifications_for(script)
    assert (record.status, record.attempts) == ("sent", 3)
    assert len(server.requests) == 3


def test_a_client_error_is_not_retried(webhook_receiver: RecordingHTTPServer, on_commit: Any) -> None:
    webhook_receiver.respond(400, "bad payload")
    script = make_script(confidence_level="MEDIUM")
    with on_commit():
        route_script(script=script)
    (record,) = notifications_for(script)
    assert (record.status, record.attempts) == ("failed", 1)
    assert "HTTP 400" in record.channel_results[0]["error"]
    assert len(webhook_receiver.requests) == 1


def test_delivery_never_blocks_or_undoes_the_workflow(webhook_receiver: RecordingHTTPServer, on_commit: Any) -> None:
    # The receiver is down (connection refused): the script is still routed and waiting for approval.
    webhook_receiver.shutdown()
    webhook_receiver.server_close()
    script = make_script(confidence_level="MEDIUM")
    with pytest.raises(Retry), on_commit():
        route_script(script=script)
    script.refresh_from_db()
    assert script.approval_status == "REQUIRED" and script.approval_expires_at is not None
    (record,) = notifications_for(script)
    assert record.status == "failed"
    assert "connection failed" in record.channel_results[0]["error"]


def test_a_half_configured_channel_fails_the_record_without_retrying_or_leaking(
    monkeypatch: pytest.MonkeyPatch, no_notification_channels: None, on_commit: Any
) -> None:
    monkeypatch.setenv("NOTIFY_WEBHOOK_URL", "http://127.0.0.1:9/hook")  # the secret is missing
    script = make_script(confidence_level="MEDIUM")
    with on_commit():
        route_script(script=script)
    (record,) = notifications_for(script)
    assert (record.status, record.attempts) == ("failed", 1)
    assert "NOTIFY_WEBHOOK_SECRET" in record.channel_results[0]["error"]
    assert "127.0.0.1:9" not in record.channel_results[0]["error"]


def test_the_system_check_reports_a_half_configured_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    from remediation.checks import notification_channels_configured

    monkeypatch.setenv("NOTIFY_TELEGRAM_BOT_TOKEN", "123:abc")
    (error,) = notification_channels_configured()
    assert error.id == "remediation.E001"
    assert "NOTIFY_TELEGRAM_CHAT_ID" in error.msg
    assert "123:abc" not in error.msg
