"""Build the notification channels from environment variables (12-factor, Django-free).

Each channel is on when its variables are set and off when none are; a half-configured channel is
an error that names the missing variable, so a typo fails at start-up instead of silencing alerts.
Every variable may instead be given as ``<NAME>_FILE`` holding the value (Docker and Kubernetes
secrets); setting both is ambiguous and refused. Empty values count as unset, because compose
files commonly pass ``VAR=`` for "not configured". The full list is in docs/notifications.md.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from remediation.notifications.channels import (
    ALL_EVENTS,
    Channel,
    EmailChannel,
    SignedWebhookChannel,
    SlackWebhookChannel,
    TelegramChannel,
)
from remediation.notifications.events import NotificationEvent

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 10.0
#: Shorter webhook secrets are accepted but logged: they are guessable offline from one signature.
MIN_WEBHOOK_SECRET_LENGTH = 16

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})

KNOWN_VARIABLES = frozenset(
    {
        "NOTIFY_EVENTS",
        "NOTIFY_TIMEOUT",
        "NOTIFY_TELEGRAM_BOT_TOKEN",
        "NOTIFY_TELEGRAM_CHAT_ID",
        "NOTIFY_TELEGRAM_API_BASE",
        "NOTIFY_TELEGRAM_EVENTS",
        "NOTIFY_SLACK_WEBHOOK_URL",
        "NOTIFY_SLACK_EVENTS",
        "NOTIFY_WEBHOOK_URL",
        "NOTIFY_WEBHOOK_SECRET",
        "NOTIFY_WEBHOOK_EVENTS",
        "NOTIFY_EMAIL_HOST",
        "NOTIFY_EMAIL_PORT",
        "NOTIFY_EMAIL_FROM",
        "NOTIFY_EMAIL_TO",
        "NOTIFY_EMAIL_USER",
        "NOTIFY_EMAIL_PASSWORD",
        "NOTIFY_EMAIL_USE_TLS",
        "NOTIFY_EMAIL_USE_SSL",
        "NOTIFY_EMAIL_EVENTS",
    }
)


class NotificationConfigError(ValueError):
    """A notification setting is missing, ambiguous or malformed; ``variable`` names it.
    Messages never contain the value, which may be a secret."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


class _Settings:
    """Reads ``NAME`` or ``NAME_FILE`` from a mapping, stripping whitespace."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def get(self, name: str) -> str | None:
        direct = (self._env.get(name) or "").strip()
        file_name = f"{name}_FILE"
        path = (self._env.get(file_name) or "").strip()
        if direct and path:
            raise NotificationConfigError(name, f"set either {name} or {file_name}, not both")
        if not path:
            return direct or None
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise NotificationConfigError(file_name, f"cannot read the file it names ({exc.strerror})") from exc
        except UnicodeDecodeError as exc:
            raise NotificationConfigError(file_name, "the file it names is not UTF-8 text") from exc
        if not value:
            raise NotificationConfigError(file_name, "the file it names is empty")
        return value

    def is_set(self, name: str) -> bool:
        return bool((self._env.get(name) or "").strip() or (self._env.get(f"{name}_FILE") or "").strip())

    def require(self, name: str, *, because: str) -> str:
        value = self.get(name)
        if value is None:
            raise NotificationConfigError(name, f"is required when {because}")
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.get(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise NotificationConfigError(name, "must be one of true/false, 1/0, yes/no, on/off")

    def number(self, name: str, default: float) -> float:
        value = self.get(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise NotificationConfigError(name, "must be a number of seconds") from None
        if not 0 < number <= 300:
            raise NotificationConfigError(name, "must be more than 0 and at most 300 seconds")
        return number

    def port(self, name: str, default: int) -> int:
        value = self.get(name)
        if value is None:
            return default
        if not value.isdigit() or not 0 < int(value) < 65536:
            raise NotificationConfigError(name, "must be a TCP port number (1-65535)")
        return int(value)

    def events(self, name: str, default: frozenset[NotificationEvent]) -> frozenset[NotificationEvent]:
        value = self.get(name)
        if value is None:
            return default
        names = [part.strip().lower() for part in value.split(",") if part.strip()]
        if not names:
            raise NotificationConfigError(name, "lists no events; unset it to receive all of them")
        if names == ["all"] or names == ["*"]:
            return ALL_EVENTS
        allowed = {event.value for event in NotificationEvent}
        unknown = sorted(set(names) - allowed)
        if unknown:
            raise NotificationConfigError(
                name,
                f"unknown event(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}",
            )
        return frozenset(NotificationEvent(n) for n in names)


def events_from_env(env: Mapping[str, str]) -> frozenset[NotificationEvent]:
    """The global ``NOTIFY_EVENTS`` filter (all events when unset)."""
    return _Settings(env).events("NOTIFY_EVENTS", ALL_EVENTS)


def channels_from_env(env: Mapping[str, str]) -> list[Channel]:
    """The configured channels, in the order telegram, slack, webhook, email (empty when none).

    Raises :class:`NotificationConfigError` (a ValueError) for a half-configured channel or a
    malformed value; call it at start-up (a Django system check or settings import) to fail early.
    """
    settings = _Settings(env)
    unknown = sorted(
        name.removesuffix("_FILE")
        for name in env
        if name.startswith("NOTIFY_") and name.removesuffix("_FILE") not in KNOWN_VARIABLES
    )
    if unknown:
        logger.warning("ignoring unknown notification settings: %s", ", ".join(unknown))

    default_events = settings.events("NOTIFY_EVENTS", ALL_EVENTS)
    timeout = settings.number("NOTIFY_TIMEOUT", DEFAULT_TIMEOUT_SECONDS)
    builders = (_telegram, _slack, _webhook, _email)
    return [channel for build in builders if (channel := build(settings, default_events, timeout)) is not None]


def _telegram(settings: _Settings, default_events: frozenset[NotificationEvent], timeout: float) -> Channel | None:
    token_var, chat_var = "NOTIFY_TELEGRAM_BOT_TOKEN", "NOTIFY_TELEGRAM_CHAT_ID"
    if not settings.is_set(token_var) and not settings.is_set(chat_var):
        return None
    token = settings.require(token_var, because=f"{chat_var} is set")
    chat_id = settings.require(chat_var, because=f"{token_var} is set")
    api_base = settings.get("NOTIFY_TELEGRAM_API_BASE") or "https://api.telegram.org"
    if "/" in token or any(c.isspace() for c in token):
        raise NotificationConfigError(
            token_var,
            "is malformed (expected the token BotFather gave, like 123456:ABC-...)",
        )
    try:
        return TelegramChannel(
            token,
            chat_id,
            api_base,
            timeout,
            events=settings.events("NOTIFY_TELEGRAM_EVENTS", default_events),
        )
    except ValueError as exc:
        raise NotificationConfigError("NOTIFY_TELEGRAM_API_BASE", str(exc)) from None


def _slack(settings: _Settings, default_events: frozenset[NotificationEvent], timeout: float) -> Channel | None:
    url = settings.get("NOTIFY_SLACK_WEBHOOK_URL")
    if url is None:
        if settings.is_set("NOTIFY_SLACK_EVENTS"):
            raise NotificationConfigError(
                "NOTIFY_SLACK_WEBHOOK_URL",
                "is required when NOTIFY_SLACK_EVENTS is set",
            )
        return None
    try:
        return SlackWebhookChannel(url, timeout, events=settings.events("NOTIFY_SLACK_EVENTS", default_events))
    except ValueError as exc:
        raise NotificationConfigError("NOTIFY_SLACK_WEBHOOK_URL", str(exc)) from None


def _webhook(settings: _Settings, default_events: frozenset[NotificationEvent], timeout: float) -> Channel | None:
    url_var, secret_var = "NOTIFY_WEBHOOK_URL", "NOTIFY_WEBHOOK_SECRET"
    if not settings.is_set(url_var) and not settings.is_set(secret_var):
        return None
    url = settings.require(url_var, because=f"{secret_var} is set")
    # An unsigned webhook would let anyone who learns the URL forge alerts; refuse rather than
    # quietly sending without a signature.
    secret = settings.require(secret_var, because=f"{url_var} is set (deliveries are always signed)")
    if len(secret) < MIN_WEBHOOK_SECRET_LENGTH:
        logger.warning(
            "%s is shorter than %d characters; use a random one",
            secret_var,
            MIN_WEBHOOK_SECRET_LENGTH,
        )
    try:
        return SignedWebhookChannel(
            url,
            secret,
            timeout,
            events=settings.events("NOTIFY_WEBHOOK_EVENTS", default_events),
        )
    except ValueError as exc:
        raise NotificationConfigError(url_var, str(exc)) from None


def _email(settings: _Settings, default_events: frozenset[NotificationEvent], timeout: float) -> Channel | None:
    host_var = "NOTIFY_EMAIL_HOST"
    others = [
        name
        for name in KNOWN_VARIABLES
        if name.startswith("NOTIFY_EMAIL_") and name != host_var and settings.is_set(name)
    ]
    if not settings.is_set(host_var):
        if others:
            raise NotificationConfigError(host_var, f"is required when {min(others)} is set")
        return None
    host = settings.require(host_var, because="email is configured")
    sender = settings.require("NOTIFY_EMAIL_FROM", because=f"{host_var} is set")
    recipients_text = settings.require("NOTIFY_EMAIL_TO", because=f"{host_var} is set")
    recipients = [address.strip() for address in recipients_text.split(",") if address.strip()]
    if not recipients or any("@" not in address for address in recipients):
        raise NotificationConfigError("NOTIFY_EMAIL_TO", "must be a comma-separated list of email addresses")
    if "@" not in sender or any(c in sender for c in ",\r\n"):
        raise NotificationConfigError("NOTIFY_EMAIL_FROM", "must be one email address")
    username = settings.get("NOTIFY_EMAIL_USER")
    password = settings.get("NOTIFY_EMAIL_PASSWORD")
    if username and not password:
        raise NotificationConfigError("NOTIFY_EMAIL_PASSWORD", "is required when NOTIFY_EMAIL_USER is set")
    if password and not username:
        raise NotificationConfigError("NOTIFY_EMAIL_USER", "is required when NOTIFY_EMAIL_PASSWORD is set")
    use_tls = settings.boolean("NOTIFY_EMAIL_USE_TLS")
    use_ssl = settings.boolean("NOTIFY_EMAIL_USE_SSL")
    if use_tls and use_ssl:
        raise NotificationConfigError(
            "NOTIFY_EMAIL_USE_SSL",
            "cannot be combined with NOTIFY_EMAIL_USE_TLS (STARTTLS); choose one",
        )
    port = settings.port("NOTIFY_EMAIL_PORT", 465 if use_ssl else 587 if use_tls else 25)
    return EmailChannel(
        host,
        port,
        sender,
        recipients,
        username=username,
        password=password,
        use_tls=use_tls,
        timeout=timeout,
        use_ssl=use_ssl,
        events=settings.events("NOTIFY_EMAIL_EVENTS", default_events),
    )
