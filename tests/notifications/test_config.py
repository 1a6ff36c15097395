"""channels_from_env: which channels a set of variables turns on, and the errors that name the variable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from remediation.notifications import (
    EmailChannel,
    Notification,
    NotificationConfigError,
    NotificationEvent,
    SignedWebhookChannel,
    SlackWebhookChannel,
    TelegramChannel,
    channels_from_env,
    deliver,
    verify_signature,
)
from tests.notifications.local_servers import RecordingHTTPServer, RecordingSMTPServer

TOKEN = "987654:AAF-config-token-secret"
SECRET = "config-webhook-secret-0123456789"


def notification(event: NotificationEvent = NotificationEvent.EXECUTION_FAILED) -> Notification:
    return Notification(event, "Execution failed", "exit code 1", None, "critical", "7", {})


def config_error(env: dict[str, str]) -> NotificationConfigError:
    with pytest.raises(NotificationConfigError) as caught:
        channels_from_env(env)
    assert isinstance(caught.value, ValueError)
    return caught.value


def test_nothing_configured_means_no_channels() -> None:
    assert channels_from_env({}) == []
    # compose files pass "VAR=" for "not configured"
    assert channels_from_env({"NOTIFY_TELEGRAM_BOT_TOKEN": "", "NOTIFY_WEBHOOK_URL": " ", "PATH": "/bin"}) == []


def test_every_channel_configured(smtp_server: RecordingSMTPServer) -> None:
    env = {
        "NOTIFY_TELEGRAM_BOT_TOKEN": TOKEN,
        "NOTIFY_TELEGRAM_CHAT_ID": "-1001",
        "NOTIFY_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/x",
        "NOTIFY_WEBHOOK_URL": "https://receiver.example.com/hook",
        "NOTIFY_WEBHOOK_SECRET": SECRET,
        "NOTIFY_EMAIL_HOST": "smtp.example.com",
        "NOTIFY_EMAIL_FROM": "robot@example.com",
        "NOTIFY_EMAIL_TO": "a@example.com, b@example.com,",
        "NOTIFY_TIMEOUT": "2.5",
    }
    channels = channels_from_env(env)

    assert [type(c) for c in channels] == [TelegramChannel, SlackWebhookChannel, SignedWebhookChannel, EmailChannel]
    assert [c.name for c in channels] == ["telegram", "slack", "webhook", "email"]
    assert all(c.events == frozenset(NotificationEvent) for c in channels)
    email = channels[3]
    assert isinstance(email, EmailChannel)
    assert (email.host, email.port, email.recipients, email.use_tls) == (
        "smtp.example.com",
        25,
        ("a@example.com", "b@example.com"),
        False,
    )
    assert email.timeout == 2.5


def test_configured_telegram_and_webhook_deliver(http_server: RecordingHTTPServer) -> None:
    env = {
        "NOTIFY_TELEGRAM_BOT_TOKEN": TOKEN,
        "NOTIFY_TELEGRAM_CHAT_ID": "-1001",
        "NOTIFY_TELEGRAM_API_BASE": http_server.url,
        "NOTIFY_WEBHOOK_URL": f"{http_server.url}/hook",
        "NOTIFY_WEBHOOK_SECRET": SECRET,
    }
    results = deliver(notification(), channels_from_env(env))

    assert [(r.channel, r.ok) for r in results] == [("telegram", True), ("webhook", True)]
    telegram_request, webhook_request = http_server.requests
    assert telegram_request.path == f"/bot{TOKEN}/sendMessage"
    assert json.loads(telegram_request.body)["chat_id"] == "-1001"
    headers = webhook_request.headers
    assert verify_signature(
        SECRET, headers["X-Remediation-Timestamp"], webhook_request.body, headers["X-Remediation-Signature"]
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"NOTIFY_TELEGRAM_BOT_TOKEN": TOKEN}, "NOTIFY_TELEGRAM_CHAT_ID"),
        ({"NOTIFY_TELEGRAM_CHAT_ID": "-1001"}, "NOTIFY_TELEGRAM_BOT_TOKEN"),
        ({"NOTIFY_WEBHOOK_URL": "https://receiver.example.com/hook"}, "NOTIFY_WEBHOOK_SECRET"),
        ({"NOTIFY_WEBHOOK_SECRET": SECRET}, "NOTIFY_WEBHOOK_URL"),
        ({"NOTIFY_SLACK_EVENTS": "execution_failed"}, "NOTIFY_SLACK_WEBHOOK_URL"),
        ({"NOTIFY_EMAIL_HOST": "smtp.example.com", "NOTIFY_EMAIL_TO": "a@example.com"}, "NOTIFY_EMAIL_FROM"),
        ({"NOTIFY_EMAIL_HOST": "smtp.example.com", "NOTIFY_EMAIL_FROM": "r@example.com"}, "NOTIFY_EMAIL_TO"),
        ({"NOTIFY_EMAIL_TO": "a@example.com", "NOTIFY_EMAIL_FROM": "r@example.com"}, "NOTIFY_EMAIL_HOST"),
    ],
)
def test_half_configured_channel_names_the_missing_variable(env: dict[str, str], variable: str) -> None:
    error = config_error(env)
    assert error.variable == variable
    assert str(error).startswith(f"{variable}: is required when")
    for value in env.values():
        if value in (TOKEN, SECRET):
            assert value not in str(error)


EMAIL = {"NOTIFY_EMAIL_HOST": "smtp.example.com", "NOTIFY_EMAIL_FROM": "r@example.com", "NOTIFY_EMAIL_TO": "a@x.org"}


@pytest.mark.parametrize(
    ("extra", "variable"),
    [
        ({"NOTIFY_EMAIL_USER": "robot"}, "NOTIFY_EMAIL_PASSWORD"),
        ({"NOTIFY_EMAIL_PASSWORD": "hunter2-secret"}, "NOTIFY_EMAIL_USER"),
        ({"NOTIFY_EMAIL_PORT": "smtp"}, "NOTIFY_EMAIL_PORT"),
        ({"NOTIFY_EMAIL_PORT": "70000"}, "NOTIFY_EMAIL_PORT"),
        ({"NOTIFY_EMAIL_USE_TLS": "maybe"}, "NOTIFY_EMAIL_USE_TLS"),
        ({"NOTIFY_EMAIL_USE_TLS": "true", "NOTIFY_EMAIL_USE_SSL": "true"}, "NOTIFY_EMAIL_USE_SSL"),
        ({"NOTIFY_EMAIL_TO": "oncall"}, "NOTIFY_EMAIL_TO"),
        ({"NOTIFY_EMAIL_FROM": "a@x.org, b@x.org"}, "NOTIFY_EMAIL_FROM"),
        ({"NOTIFY_TIMEOUT": "soon"}, "NOTIFY_TIMEOUT"),
        ({"NOTIFY_TIMEOUT": "0"}, "NOTIFY_TIMEOUT"),
    ],
)
def test_malformed_email_settings_name_the_variable(extra: dict[str, str], variable: str) -> None:
    error = config_error({**EMAIL, **extra})
    assert error.variable == variable
    assert "hunter2-secret" not in str(error)


@pytest.mark.parametrize(
    ("extra", "port", "use_tls", "use_ssl"),
    [
        ({}, 25, False, False),
        ({"NOTIFY_EMAIL_USE_TLS": "yes"}, 587, True, False),
        ({"NOTIFY_EMAIL_USE_SSL": "1"}, 465, False, True),
        ({"NOTIFY_EMAIL_USE_TLS": "On", "NOTIFY_EMAIL_PORT": "2525"}, 2525, True, False),
        ({"NOTIFY_EMAIL_USE_TLS": "false"}, 25, False, False),
    ],
)
def test_email_port_follows_the_tls_mode(extra: dict[str, str], port: int, use_tls: bool, use_ssl: bool) -> None:
    (channel,) = channels_from_env({**EMAIL, **extra})
    assert isinstance(channel, EmailChannel)
    assert (channel.port, channel.use_tls, channel.use_ssl) == (port, use_tls, use_ssl)


def test_configured_email_is_delivered_with_password_from_a_file(
    smtp_server: RecordingSMTPServer, tmp_path: Path
) -> None:
    password_file = tmp_path / "smtp_password"
    password_file.write_text("file-password-secret\n")
    smtp_server.credentials = ("robot", "file-password-secret")
    env = {
        "NOTIFY_EMAIL_HOST": "127.0.0.1",
        "NOTIFY_EMAIL_PORT": str(smtp_server.port),
        "NOTIFY_EMAIL_FROM": "robot@example.com",
        "NOTIFY_EMAIL_TO": "oncall@example.com",
        "NOTIFY_EMAIL_USER": "robot",
        "NOTIFY_EMAIL_PASSWORD_FILE": str(password_file),
    }
    (result,) = deliver(notification(), channels_from_env(env))

    assert result.ok, result.error
    assert smtp_server.logins == [("robot", "file-password-secret")]
    assert smtp_server.messages[0].rcpt_tos == ["oncall@example.com"]


def test_secrets_from_files_sign_and_address_correctly(http_server: RecordingHTTPServer, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text(f"  {SECRET}\n")
    (tmp_path / "url").write_text(f"{http_server.url}/from-file\n")
    env = {"NOTIFY_WEBHOOK_URL_FILE": str(tmp_path / "url"), "NOTIFY_WEBHOOK_SECRET_FILE": str(tmp_path / "secret")}
    (result,) = deliver(notification(), channels_from_env(env))

    assert result.ok
    (request,) = http_server.requests
    assert request.path == "/from-file"
    headers = request.headers
    assert verify_signature(
        SECRET, headers["X-Remediation-Timestamp"], request.body, headers["X-Remediation-Signature"]
    )


def test_file_variants_fail_loudly(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    both = config_error(
        {
            "NOTIFY_TELEGRAM_BOT_TOKEN": TOKEN,
            "NOTIFY_TELEGRAM_BOT_TOKEN_FILE": str(token_file),
            "NOTIFY_TELEGRAM_CHAT_ID": "1",
        }
    )
    assert both.variable == "NOTIFY_TELEGRAM_BOT_TOKEN" and "not both" in str(both)
    assert TOKEN not in str(both)

    missing = config_error({"NOTIFY_TELEGRAM_BOT_TOKEN_FILE": str(tmp_path / "absent"), "NOTIFY_TELEGRAM_CHAT_ID": "1"})
    assert missing.variable == "NOTIFY_TELEGRAM_BOT_TOKEN_FILE"

    (tmp_path / "empty").write_text("\n")
    empty = config_error(
        {"NOTIFY_WEBHOOK_URL": "https://r.example.com/h", "NOTIFY_WEBHOOK_SECRET_FILE": str(tmp_path / "empty")}
    )
    assert empty.variable == "NOTIFY_WEBHOOK_SECRET_FILE" and "empty" in str(empty)


def test_malformed_values_are_refused_without_echoing_them() -> None:
    slack = config_error({"NOTIFY_SLACK_WEBHOOK_URL": "hooks.slack.com/services/T0/B0/slack-secret-part"})
    assert slack.variable == "NOTIFY_SLACK_WEBHOOK_URL" and "slack-secret-part" not in str(slack)

    token = config_error({"NOTIFY_TELEGRAM_BOT_TOKEN": "12345:abc/../../evil", "NOTIFY_TELEGRAM_CHAT_ID": "1"})
    assert token.variable == "NOTIFY_TELEGRAM_BOT_TOKEN" and "evil" not in str(token)

    webhook = config_error({"NOTIFY_WEBHOOK_URL": "ftp://r.example.com/h", "NOTIFY_WEBHOOK_SECRET": SECRET})
    assert webhook.variable == "NOTIFY_WEBHOOK_URL"


def test_notify_events_filters_every_channel_and_per_channel_overrides(http_server: RecordingHTTPServer) -> None:
    env = {
        "NOTIFY_EVENTS": " execution_failed , UNSAFE_SCRIPT_DETECTED",
        "NOTIFY_SLACK_WEBHOOK_URL": f"{http_server.url}/slack",
        "NOTIFY_WEBHOOK_URL": f"{http_server.url}/hook",
        "NOTIFY_WEBHOOK_SECRET": SECRET,
        "NOTIFY_WEBHOOK_EVENTS": "all",
    }
    slack, webhook = channels_from_env(env)
    assert slack.events == {NotificationEvent.EXECUTION_FAILED, NotificationEvent.UNSAFE_SCRIPT_DETECTED}
    assert webhook.events == frozenset(NotificationEvent)

    deliver(notification(NotificationEvent.SCRIPT_NEEDS_REVIEW), [slack, webhook])
    deliver(notification(NotificationEvent.EXECUTION_FAILED), [slack, webhook])
    assert [request.path for request in http_server.requests] == ["/hook", "/slack", "/hook"]


@pytest.mark.parametrize("value", ["execution_failed,script_failed", ",", "everything"])
def test_unknown_or_empty_event_filter_is_refused(value: str) -> None:
    error = config_error({"NOTIFY_EVENTS": value, "NOTIFY_SLACK_WEBHOOK_URL": "https://hooks.example.com/x"})
    assert error.variable == "NOTIFY_EVENTS"
    if "," in value.strip(","):
        assert "script_failed" in str(error) and "script_needs_review" in str(error)  # says what is allowed
