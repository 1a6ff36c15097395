"""Channels against real local servers: what goes over the wire and how failures are classified."""

from __future__ import annotations

import datetime as dt
import decimal
import email
import email.policy
import json
import logging
import time
import uuid
from typing import Any

import pytest

from remediation.notifications import (
    DeliveryResult,
    EmailChannel,
    Notification,
    NotificationEvent,
    SignedWebhookChannel,
    SlackWebhookChannel,
    TelegramChannel,
    deliver,
    verify_signature,
)
from tests.notifications.local_servers import RecordingHTTPServer, RecordingSMTPServer

TOKEN = "123456:AAH-secret-bot-token_value"
WEBHOOK_SECRET = "whsec-0123456789abcdef-do-not-leak"
SMTP_PASSWORD = "smtp-pa55word-do-not-leak"


def make_notification(**overrides: object) -> Notification:
    values: dict[str, object] = {
        "event": NotificationEvent.SCRIPT_NEEDS_REVIEW,
        "title": "Script for disk-full on db-1 needs review",
        "body": "Confidence MEDIUM (0.62). The script truncates /var/log/app/*.log older than 7 days.",
        "url": "https://remediation.example.com/admin/scripts/42/",
        "severity": "warning",
        "object_id": "42",
        "details": {"confidence": 0.62, "language": "bash"},
    }
    values.update(overrides)
    return Notification(**values)  # type: ignore[arg-type]


def assert_no_secrets(result: DeliveryResult, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in repr(result)


# --- Notification -------------------------------------------------------------------------------


def test_payload_is_json_safe_and_round_trips() -> None:
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    script_id = uuid.uuid4()
    n = make_notification(
        details={
            "script_id": script_id,
            "score": decimal.Decimal("0.85"),
            "at": when,
            "tags": {"b", "a"},
            "nested": {1: (NotificationEvent.EXECUTION_FAILED, float("nan"))},
        }
    )
    payload = json.loads(json.dumps(n.as_payload()))

    assert payload["event"] == "script_needs_review"
    assert payload["details"] == {
        "script_id": str(script_id),
        "score": "0.85",
        "at": "2026-01-02T03:04:05+00:00",
        "tags": ["a", "b"],
        "nested": {"1": ["execution_failed", "nan"]},
    }
    again = Notification.from_payload(payload)
    assert again.notification_id == n.notification_id
    assert again.created_at == n.created_at
    assert again.event is NotificationEvent.SCRIPT_NEEDS_REVIEW
    assert again.as_payload() == payload


def test_details_are_copied_so_later_edits_do_not_change_a_queued_notification() -> None:
    details = {"attempt": 1}
    n = make_notification(details=details)
    details["attempt"] = 2
    assert n.details == {"attempt": 1}


def test_unknown_event_string_is_refused() -> None:
    with pytest.raises(ValueError):
        make_notification(event="script_needs_reveiw")


# --- Telegram -----------------------------------------------------------------------------------


def telegram(server: RecordingHTTPServer, **kwargs: object) -> TelegramChannel:
    return TelegramChannel(TOKEN, "-100123", api_base=server.url, **kwargs)  # type: ignore[arg-type]


def test_telegram_posts_plain_text_to_the_bot_api(http_server: RecordingHTTPServer) -> None:
    n = make_notification(body="<b>rm -rf</b> & *bold* _x_ [link](http://evil)")
    result = telegram(http_server).send(n)

    assert result == DeliveryResult("telegram", True, False, 200, None)
    (request,) = http_server.requests
    assert request.path == f"/bot{TOKEN}/sendMessage"
    assert request.headers["Content-Type"] == "application/json"
    sent = json.loads(request.body)
    assert sent["chat_id"] == "-100123"
    assert "parse_mode" not in sent  # plain text: nothing in the RCA can become markup
    assert sent["text"].startswith("[WARNING] Script for disk-full on db-1 needs review")
    assert "<b>rm -rf</b> & *bold* _x_ [link](http://evil)" in sent["text"]
    assert sent["text"].endswith(n.url)


def test_telegram_truncates_long_bodies_but_keeps_title_and_link(http_server: RecordingHTTPServer) -> None:
    # Emoji are two UTF-16 units each, which is what Telegram counts.
    n = make_notification(body="\N{FIRE}" * 5000 + "END-OF-BODY")
    assert telegram(http_server).send(n).ok

    text = json.loads(http_server.requests[0].body)["text"]
    assert len(text.encode("utf-16-le")) // 2 <= 4096
    assert len(text.encode("utf-16-le")) // 2 > 4000  # cut, not emptied
    assert text.startswith("[WARNING] Script for disk-full")
    assert text.endswith(f"(truncated)\n\n{n.url}")
    assert "END-OF-BODY" not in text


def test_telegram_server_error_is_retryable_and_hides_the_token(http_server: RecordingHTTPServer) -> None:
    http_server.respond(500, f"internal error while handling /bot{TOKEN}/sendMessage")
    result = telegram(http_server).send(make_notification())

    assert (result.ok, result.retryable, result.status) == (False, True, 500)
    assert result.error is not None and "internal error" in result.error
    assert_no_secrets(result, TOKEN)


def test_telegram_bad_request_is_not_retryable(http_server: RecordingHTTPServer) -> None:
    http_server.respond(
        400,
        json.dumps({"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}),
        {"Content-Type": "application/json"},
    )
    result = telegram(http_server).send(make_notification())

    assert (result.ok, result.retryable, result.status) == (False, False, 400)
    assert result.error == "HTTP 400: Bad Request: chat not found"


def test_telegram_flood_control_is_retryable_with_its_wait(http_server: RecordingHTTPServer) -> None:
    reply = {"ok": False, "error_code": 429, "description": "Too Many Requests", "parameters": {"retry_after": 3}}
    http_server.respond(429, json.dumps(reply), {"Content-Type": "application/json"})
    result = telegram(http_server).send(make_notification())

    assert (result.ok, result.retryable, result.status, result.retry_after) == (False, True, 429, 3.0)


def test_telegram_2xx_without_ok_is_a_failure(http_server: RecordingHTTPServer) -> None:
    http_server.respond(200, "<html>captive portal</html>", {"Content-Type": "text/html"})
    result = telegram(http_server).send(make_notification())
    assert not result.ok


def test_telegram_connection_refused_is_retryable(refused_port: int) -> None:
    channel = TelegramChannel(TOKEN, "1", api_base=f"http://127.0.0.1:{refused_port}")
    result = channel.send(make_notification())

    assert (result.ok, result.retryable, result.status) == (False, True, None)
    assert result.error is not None and result.error.startswith("connection failed")
    assert_no_secrets(result, TOKEN)


def test_telegram_timeout_is_retryable(http_server: RecordingHTTPServer) -> None:
    http_server.respond(200, b'{"ok": true}', delay=1.0)
    started = time.monotonic()
    result = telegram(http_server, timeout=0.2).send(make_notification())

    assert time.monotonic() - started < 0.9
    assert (result.ok, result.retryable) == (False, True)
    assert result.error == "timed out after 0.2s"


def test_redirects_are_not_followed(http_server: RecordingHTTPServer) -> None:
    http_server.respond(302, b"", {"Location": "http://127.0.0.1:1/elsewhere"})
    result = telegram(http_server).send(make_notification())

    assert (result.ok, result.retryable, result.status) == (False, False, 302)
    assert len(http_server.requests) == 1


def test_request_logs_do_not_show_the_token_or_slack_url(
    http_server: RecordingHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    telegram(http_server).send(make_notification())
    SlackWebhookChannel(f"{http_server.url}/services/T0/B0/slack-url-secret").send(make_notification())

    assert "HTTP Request: POST" in caplog.text  # httpx did log both requests ...
    assert TOKEN not in caplog.text  # ... with the secrets scrubbed
    assert "slack-url-secret" not in caplog.text


def test_channel_repr_hides_secrets(http_server: RecordingHTTPServer) -> None:
    slack_url = f"{http_server.url}/services/T000/B000/slack-url-secret"
    channels = [
        telegram(http_server),
        SlackWebhookChannel(slack_url),
        SignedWebhookChannel(http_server.url, WEBHOOK_SECRET),
        EmailChannel("127.0.0.1", 25, "a@example.com", ["b@example.com"], "user", SMTP_PASSWORD),
    ]
    text = repr(channels)
    for secret in (TOKEN, "slack-url-secret", WEBHOOK_SECRET, SMTP_PASSWORD):
        assert secret not in text


# --- Slack --------------------------------------------------------------------------------------


def test_slack_sends_escaped_text(http_server: RecordingHTTPServer) -> None:
    n = make_notification(title="Unsafe script <!channel> detected", body="found `curl x | sh` & <http://evil|docs>")
    result = SlackWebhookChannel(f"{http_server.url}/services/T0/B0/XYZ").send(n)

    assert result.ok and result.status == 200
    (request,) = http_server.requests
    assert request.path == "/services/T0/B0/XYZ"
    sent = json.loads(request.body)
    assert sent["text"].startswith("[WARNING] Unsafe script &lt;!channel&gt; detected")
    assert "found `curl x | sh` &amp; &lt;http://evil|docs&gt;" in sent["text"]
    assert "<" not in sent["text"] and ">" not in sent["text"]


def test_slack_refusal_is_not_retryable_and_hides_the_url(http_server: RecordingHTTPServer) -> None:
    http_server.respond(404, "no_service: /services/T0/B0/slack-url-secret")
    result = SlackWebhookChannel(f"{http_server.url}/services/T0/B0/slack-url-secret").send(make_notification())

    assert (result.ok, result.retryable, result.status) == (False, False, 404)
    assert result.error is not None and "no_service" in result.error
    assert_no_secrets(result, "slack-url-secret")


def test_slack_unavailable_is_retryable_with_retry_after(http_server: RecordingHTTPServer) -> None:
    http_server.respond(503, "busy", {"Retry-After": "7"})
    result = SlackWebhookChannel(f"{http_server.url}/hook").send(make_notification())
    assert (result.ok, result.retryable, result.retry_after) == (False, True, 7.0)


# --- signed webhook -----------------------------------------------------------------------------


def test_signed_webhook_signature_verifies(http_server: RecordingHTTPServer) -> None:
    n = make_notification(event=NotificationEvent.EXECUTION_FAILED, severity="critical")
    result = SignedWebhookChannel(f"{http_server.url}/hooks/remediation", WEBHOOK_SECRET).send(n)

    assert result.ok
    (request,) = http_server.requests
    assert request.path == "/hooks/remediation"
    assert json.loads(request.body) == n.as_payload()
    assert request.headers["X-Remediation-Event"] == "execution_failed"
    assert request.headers["X-Remediation-Delivery"] == n.notification_id
    timestamp = request.headers["X-Remediation-Timestamp"]
    signature = request.headers["X-Remediation-Signature"]
    assert signature.startswith("sha256=")
    assert abs(int(timestamp) - time.time()) < 60
    assert verify_signature(WEBHOOK_SECRET, timestamp, request.body, signature)
    assert WEBHOOK_SECRET.encode() not in request.body + json.dumps(request.headers).encode()


def test_signature_fails_on_tampering_wrong_secret_and_old_timestamps(http_server: RecordingHTTPServer) -> None:
    SignedWebhookChannel(http_server.url, WEBHOOK_SECRET).send(make_notification())
    (request,) = http_server.requests
    timestamp = request.headers["X-Remediation-Timestamp"]
    signature = request.headers["X-Remediation-Signature"]
    sent_at = int(timestamp)

    tampered = request.body.replace(b"needs review", b"was approved")
    assert tampered != request.body
    assert not verify_signature(WEBHOOK_SECRET, timestamp, tampered, signature)
    assert not verify_signature("another-secret-of-some-length", timestamp, request.body, signature)
    # The timestamp is signed: moving it to dodge the age check breaks the signature.
    assert not verify_signature(WEBHOOK_SECRET, str(sent_at + 1), request.body, signature)
    # Replays outside the window, either side of now, are refused.
    assert verify_signature(WEBHOOK_SECRET, timestamp, request.body, signature, now=sent_at + 299)
    assert not verify_signature(WEBHOOK_SECRET, timestamp, request.body, signature, now=sent_at + 301)
    assert not verify_signature(WEBHOOK_SECRET, timestamp, request.body, signature, now=sent_at - 301)
    assert not verify_signature(
        WEBHOOK_SECRET, timestamp, request.body, signature, max_age_seconds=10, now=sent_at + 11
    )
    # Malformed input is a plain False.
    for bad_signature in ("", "sha256=", signature.removeprefix("sha256="), "md5=" + signature[7:], "sha256=zz"):
        assert not verify_signature(WEBHOOK_SECRET, timestamp, request.body, bad_signature)
    for bad_timestamp in ("", "abc", "-5", "1e9", "١٢٣"):
        assert not verify_signature(WEBHOOK_SECRET, bad_timestamp, request.body, signature)


def test_signed_webhook_sent_long_ago_does_not_verify_now(http_server: RecordingHTTPServer) -> None:
    an_hour_ago = time.time() - 3600
    SignedWebhookChannel(http_server.url, WEBHOOK_SECRET, clock=lambda: an_hour_ago).send(make_notification())
    (request,) = http_server.requests
    headers = request.headers
    assert not verify_signature(
        WEBHOOK_SECRET, headers["X-Remediation-Timestamp"], request.body, headers["X-Remediation-Signature"]
    )


def test_signed_webhook_status_classification(http_server: RecordingHTTPServer, refused_port: int) -> None:
    channel = SignedWebhookChannel(http_server.url, WEBHOOK_SECRET)
    outcomes = {}
    for status in (500, 502, 429, 400, 401, 404, 410):
        http_server.respond(status, f"status {status} secret echo {WEBHOOK_SECRET}")
        result = channel.send(make_notification())
        assert not result.ok and result.status == status
        assert_no_secrets(result, WEBHOOK_SECRET)
        outcomes[status] = result.retryable
    assert outcomes == {500: True, 502: True, 429: True, 400: False, 401: False, 404: False, 410: False}

    refused = SignedWebhookChannel(f"http://127.0.0.1:{refused_port}/", WEBHOOK_SECRET).send(make_notification())
    assert (refused.ok, refused.retryable) == (False, True)


def test_retries_of_one_notification_share_its_delivery_id(http_server: RecordingHTTPServer) -> None:
    n = make_notification()
    channel = SignedWebhookChannel(http_server.url, WEBHOOK_SECRET)
    channel.send(n)
    channel.send(Notification.from_payload(json.loads(json.dumps(n.as_payload()))))
    ids = {request.headers["X-Remediation-Delivery"] for request in http_server.requests}
    assert ids == {n.notification_id}


# --- email --------------------------------------------------------------------------------------


def email_channel(server: RecordingSMTPServer, **kwargs: Any) -> EmailChannel:
    options: dict[str, Any] = {"local_hostname": "test.localhost", "timeout": 5}
    options.update(kwargs)
    return EmailChannel(
        "127.0.0.1", server.port, "remediation@example.com", ["oncall@example.com", "lead@example.com"], **options
    )


def parse(data: bytes) -> email.message.EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def test_email_is_delivered(smtp_server: RecordingSMTPServer) -> None:
    n = make_notification(body="Disk at 99 % on db-1 – über alles \N{FIRE}")
    result = email_channel(smtp_server).send(n)

    assert result == DeliveryResult("email", True, False, 250, None)
    (mail,) = smtp_server.messages
    assert mail.mail_from == "remediation@example.com"
    assert mail.rcpt_tos == ["oncall@example.com", "lead@example.com"]
    message = parse(mail.data)
    assert message["Subject"] == "[remediation] [WARNING] Script for disk-full on db-1 needs review"
    assert message["To"] == "oncall@example.com, lead@example.com"
    assert message["X-Remediation-Event"] == "script_needs_review"
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_content()
    assert "Disk at 99 % on db-1 – über alles \N{FIRE}" in body
    assert n.url in body


def test_email_logs_in_with_credentials(smtp_server: RecordingSMTPServer) -> None:
    smtp_server.credentials = ("robot", SMTP_PASSWORD)
    result = email_channel(smtp_server, username="robot", password=SMTP_PASSWORD).send(make_notification())
    assert result.ok
    assert smtp_server.logins == [("robot", SMTP_PASSWORD)]
    assert len(smtp_server.messages) == 1


def test_email_wrong_password_is_not_retryable_and_not_echoed(smtp_server: RecordingSMTPServer) -> None:
    smtp_server.credentials = ("robot", "the-right-one")
    result = email_channel(smtp_server, username="robot", password=SMTP_PASSWORD).send(make_notification())

    assert (result.ok, result.retryable, result.status) == (False, False, 535)
    assert_no_secrets(result, SMTP_PASSWORD)
    assert smtp_server.messages == []


@pytest.mark.parametrize(("reply", "retryable"), [("451 4.3.0 try later", True), ("550 5.1.1 no such user", False)])
def test_email_refused_recipients(smtp_server: RecordingSMTPServer, reply: str, retryable: bool) -> None:
    smtp_server.rcpt_replies = {"oncall@example.com": reply, "lead@example.com": reply}
    result = email_channel(smtp_server).send(make_notification())

    assert (result.ok, result.retryable, result.status) == (False, retryable, int(reply[:3]))
    assert result.error is not None and "oncall@example.com" in result.error
    assert smtp_server.messages == []


def test_email_partly_refused_counts_as_sent_without_retry(smtp_server: RecordingSMTPServer) -> None:
    smtp_server.rcpt_replies = {"lead@example.com": "550 5.1.1 no such user"}
    result = email_channel(smtp_server).send(make_notification())

    assert (result.ok, result.retryable) == (True, False)
    assert result.error is not None and "lead@example.com" in result.error
    assert smtp_server.messages[0].rcpt_tos == ["oncall@example.com"]


def test_email_data_rejection_classified_by_code(smtp_server: RecordingSMTPServer) -> None:
    smtp_server.data_reply = "452 4.3.1 insufficient system storage"
    assert email_channel(smtp_server).send(make_notification()).retryable
    smtp_server.data_reply = "554 5.7.1 message rejected as spam"
    result = email_channel(smtp_server).send(make_notification())
    assert (result.ok, result.retryable, result.status) == (False, False, 554)


def test_email_starttls_required_but_not_offered_sends_nothing(smtp_server: RecordingSMTPServer) -> None:
    result = email_channel(smtp_server, use_tls=True).send(make_notification())

    assert (result.ok, result.retryable) == (False, False)
    assert result.error is not None and "STARTTLS" in result.error
    assert smtp_server.messages == []


def test_email_subject_cannot_inject_headers(smtp_server: RecordingSMTPServer) -> None:
    n = make_notification(title="disk full\r\nBcc: attacker@evil.example\r\n\r\nfake body")
    assert email_channel(smtp_server).send(n).ok

    (mail,) = smtp_server.messages
    message = parse(mail.data)
    assert message["Bcc"] is None
    assert "\n" not in message["Subject"]
    assert mail.rcpt_tos == ["oncall@example.com", "lead@example.com"]


def test_email_connection_refused_is_retryable(refused_port: int) -> None:
    channel = EmailChannel("127.0.0.1", refused_port, "a@example.com", ["b@example.com"], "u", SMTP_PASSWORD)
    result = channel.send(make_notification())
    assert (result.ok, result.retryable, result.status) == (False, True, None)
    assert_no_secrets(result, SMTP_PASSWORD)


# --- deliver ------------------------------------------------------------------------------------


def test_deliver_sends_only_to_channels_subscribed_to_the_event(http_server: RecordingHTTPServer) -> None:
    failures_only = SlackWebhookChannel(f"{http_server.url}/failures", events={NotificationEvent.EXECUTION_FAILED})
    everything = SlackWebhookChannel(f"{http_server.url}/all", name="slack-all")

    review = deliver(make_notification(), [failures_only, everything])
    failed = deliver(make_notification(event=NotificationEvent.EXECUTION_FAILED), [failures_only, everything])

    assert [r.channel for r in review] == ["slack-all"]
    assert [r.channel for r in failed] == ["slack", "slack-all"]
    assert [request.path for request in http_server.requests] == ["/all", "/failures", "/all"]
