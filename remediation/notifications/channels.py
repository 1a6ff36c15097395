"""Delivery channels: Telegram, Slack-compatible webhooks, signed JSON webhooks and SMTP email.

Every channel's :meth:`send` returns a :class:`DeliveryResult` and never raises, so the Celery task
that calls it decides about retries from ``retryable`` alone: a network error, a timeout, HTTP 429
or 5xx, or an SMTP 4xx reply is retryable; any other refusal is not (retrying a 400 or a wrong
password only repeats the failure). Secrets (bot token, webhook URL or secret, SMTP password) are
scrubbed from every error text and never appear in ``repr()``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import time
import urllib.parse
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol, runtime_checkable

import httpx

from remediation.notifications.events import Notification, NotificationEvent

logger = logging.getLogger(__name__)

#: Telegram's sendMessage limit, counted in UTF-16 code units (what the Bot API measures).
TELEGRAM_MAX_TEXT = 4096
#: Slack truncates ``text`` beyond 40,000 characters; we cut first so the link survives.
SLACK_MAX_TEXT = 40_000
#: Long enough to read a full incident summary, short enough for a mail client's preview.
EMAIL_MAX_BODY = 100_000
EMAIL_MAX_SUBJECT = 200
#: How much of a refusing server's reply goes into ``DeliveryResult.error``.
MAX_ERROR_DETAIL = 300

SIGNATURE_HEADER = "X-Remediation-Signature"
TIMESTAMP_HEADER = "X-Remediation-Timestamp"
EVENT_HEADER = "X-Remediation-Event"
DELIVERY_HEADER = "X-Remediation-Delivery"
USER_AGENT = "generative-remediation-notifications/1"

ALL_EVENTS: frozenset[NotificationEvent] = frozenset(NotificationEvent)


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of one send. ``status`` is the HTTP status, or the SMTP reply code for email,
    or None when no reply arrived. ``retry_after`` is the server's requested wait in seconds
    (HTTP ``Retry-After`` or Telegram's ``retry_after``), when it gave one."""

    channel: str
    ok: bool
    retryable: bool
    status: int | None
    error: str | None
    retry_after: float | None = None


@runtime_checkable
class Channel(Protocol):
    """A place notifications go. ``events`` is the set this channel wants (``NOTIFY_EVENTS``);
    :func:`deliver` honours it, a direct :meth:`send` does not."""

    name: str
    events: frozenset[NotificationEvent]

    def send(self, n: Notification) -> DeliveryResult: ...


def deliver(notification: Notification, channels: Iterable[Channel]) -> list[DeliveryResult]:
    """Send to every channel subscribed to the notification's event; one result per channel tried."""
    return [channel.send(notification) for channel in channels if notification.event in channel.events]


# --- text rendering -------------------------------------------------------------------------------


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def render_plain_text(n: Notification, *, limit: int | None = None, measure: Callable[[str], int] = len) -> str:
    """Title line, body, link. When ``limit`` is given the body is cut (never the title's first
    line or the link, which are what a reader acts on) so that ``measure(result) <= limit``."""
    head = f"[{n.severity.upper()}] {n.title.strip()}"
    tail = f"\n\n{n.url}" if n.url else ""
    body = n.body.strip()
    text = f"{head}\n\n{body}{tail}" if body else f"{head}{tail}"
    if limit is None or measure(text) <= limit:
        return text
    marker = "\n… (truncated)"
    budget = limit - measure(f"{head}\n\n{marker}{tail}")
    if budget <= 0:
        # Even without a body it does not fit: keep the start of the whole text.
        return _cut(text, limit, measure)
    return f"{head}\n\n{_cut(body, budget, measure).rstrip()}{marker}{tail}"


def _cut(text: str, limit: int, measure: Callable[[str], int]) -> str:
    if measure(text) <= limit:
        return text
    low, high = 0, len(text)  # longest prefix that fits, by binary search on characters
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return text[:low]


def _slack_escape(text: str) -> str:
    # Slack's documented control characters; escaping them also neutralises <!channel> pings and
    # <url|label> links smuggled in from RCA text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- secrets and error text ---------------------------------------------------------------------


class _Redactor:
    def __init__(self, secrets: Iterable[str | None]) -> None:
        variants: set[str] = set()
        for secret in secrets:
            if secret:
                variants.update(
                    {
                        secret,
                        urllib.parse.quote(secret, safe=""),
                        urllib.parse.quote(secret),
                    }
                )
        # Longest first so a URL is replaced whole before its token part.
        self._secrets = sorted((v for v in variants if len(v) >= 4), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text


class _SecretLogFilter(logging.Filter):
    """httpx logs every request URL at INFO, and a Telegram URL holds the bot token and a Slack
    URL is itself the credential; this filter on the ``httpx`` logger scrubs the secrets that
    channels register when they are built."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._redact = _Redactor(())

    def register(self, *secrets: str | None) -> None:
        self._secrets.update(s for s in secrets if s)
        self._redact = _Redactor(self._secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            message = record.getMessage()
            redacted = self._redact(message)
            if redacted != message:
                record.msg, record.args = redacted, None
        return True


_HTTPX_LOG_FILTER = _SecretLogFilter()
logging.getLogger("httpx").addFilter(_HTTPX_LOG_FILTER)


def _one_line(text: str, limit: int = MAX_ERROR_DETAIL) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _validate_http_url(url: str, *, what: str) -> None:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        # Do not echo the URL: for Slack it is itself the secret.
        raise ValueError(f"{what} must be an absolute http(s) URL")


def _events(
    events: Collection[NotificationEvent | str] | None,
) -> frozenset[NotificationEvent]:
    return ALL_EVENTS if events is None else frozenset(NotificationEvent(e) for e in events)


# --- HTTP ---------------------------------------------------------------------------------------


def _retry_after(response: httpx.Response, reply: Any) -> float | None:
    if isinstance(reply, dict):
        parameters = reply.get("parameters")
        if isinstance(parameters, dict) and isinstance(parameters.get("retry_after"), int | float):
            return float(parameters["retry_after"])
    header = response.headers.get("Retry-After")
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, float((when - dt.datetime.now(dt.UTC)).total_seconds()))


def _post(
    channel: str,
    url: str,
    *,
    content: bytes,
    headers: dict[str, str],
    timeout: float,
    redact: _Redactor,
    reply_ok: Callable[[Any], bool] = lambda reply: True,
) -> DeliveryResult:
    """POST ``content`` and classify the outcome; the only place channels touch the network."""
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(url, content=content, headers={"User-Agent": USER_AGENT, **headers})
    except (
        httpx.UnsupportedProtocol,
        httpx.InvalidURL,
        httpx.LocalProtocolError,
    ) as exc:
        return DeliveryResult(
            channel,
            False,
            False,
            None,
            redact(f"request rejected locally: {_one_line(str(exc))}"),
        )
    except httpx.TimeoutException:
        return DeliveryResult(channel, False, True, None, f"timed out after {timeout:g}s")
    except httpx.TransportError as exc:
        return DeliveryResult(
            channel,
            False,
            True,
            None,
            redact(f"connection failed: {_one_line(str(exc))}"),
        )
    except Exception as exc:  # noqa: BLE001 - send() must never raise; the type name says what broke
        error = redact(f"{type(exc).__name__}: {_one_line(str(exc))}")
        # No traceback: its exception text would carry the unredacted URL.
        logger.error("unexpected error sending %s notification: %s", channel, error)
        return DeliveryResult(channel, False, False, None, error)

    status = response.status_code
    try:
        reply: Any = response.json()
    except ValueError:
        reply = None
    if 200 <= status < 300 and reply_ok(reply):
        return DeliveryResult(channel, True, False, status, None)

    if isinstance(reply, dict) and isinstance(reply.get("description"), str):
        detail = reply["description"]  # Telegram's explanation
    else:
        detail = response.text
    message = f"HTTP {status}" + (f": {_one_line(detail)}" if detail.strip() else "")
    if 300 <= status < 400:
        message += " (redirects are not followed; check the configured URL)"
    retryable = status == 429 or status >= 500
    return DeliveryResult(
        channel,
        False,
        retryable,
        status,
        redact(message),
        _retry_after(response, reply),
    )


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


# --- channels -----------------------------------------------------------------------------------


class TelegramChannel:
    """Bot API ``sendMessage`` as plain text (no ``parse_mode``), so nothing in an RCA can turn
    into markup; the text is cut to Telegram's 4096-unit limit."""

    def __init__(
        self,
        bot_token: str,
        chat_id: str,
        api_base: str = "https://api.telegram.org",
        timeout: float = 10,
        *,
        name: str = "telegram",
        events: Collection[NotificationEvent | str] | None = None,
    ) -> None:
        if not bot_token or "/" in bot_token or any(c.isspace() for c in bot_token):
            raise ValueError("Telegram bot token is empty or malformed")
        if not str(chat_id).strip():
            raise ValueError("Telegram chat id is empty")
        _validate_http_url(api_base, what="Telegram API base")
        self.name = name
        self.events = _events(events)
        self.chat_id = str(chat_id).strip()
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout
        self._bot_token = bot_token
        _HTTPX_LOG_FILTER.register(bot_token)

    def __repr__(self) -> str:
        return f"TelegramChannel(name={self.name!r}, chat_id={self.chat_id!r}, api_base={self.api_base!r})"

    def send(self, n: Notification) -> DeliveryResult:
        text = render_plain_text(n, limit=TELEGRAM_MAX_TEXT, measure=_utf16_len)
        body = {"chat_id": self.chat_id, "text": text, "disable_web_page_preview": True}
        return _post(
            self.name,
            f"{self.api_base}/bot{self._bot_token}/sendMessage",
            content=_json_bytes(body),
            headers={"Content-Type": "application/json"},
            timeout=self.timeout,
            redact=_Redactor([self._bot_token]),
            # The Bot API answers {"ok": true, ...}; a 2xx without it is a proxy or a wrong host.
            reply_ok=lambda reply: isinstance(reply, dict) and reply.get("ok") is True,
        )


class SlackWebhookChannel:
    """A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat): ``{"text": ...}`` with
    Slack's control characters escaped and markup parsing off. The URL is the credential."""

    def __init__(
        self,
        url: str,
        timeout: float = 10,
        *,
        name: str = "slack",
        events: Collection[NotificationEvent | str] | None = None,
    ) -> None:
        _validate_http_url(url, what="Slack webhook URL")
        self.name = name
        self.events = _events(events)
        self.timeout = timeout
        self._url = url
        path = urllib.parse.urlsplit(url).path
        _HTTPX_LOG_FILTER.register(url, path if len(path) > 1 else None)

    def __repr__(self) -> str:
        host = urllib.parse.urlsplit(self._url).hostname
        return f"SlackWebhookChannel(name={self.name!r}, host={host!r})"

    def send(self, n: Notification) -> DeliveryResult:
        text = _slack_escape(render_plain_text(n, limit=SLACK_MAX_TEXT))
        path = urllib.parse.urlsplit(self._url).path
        return _post(
            self.name,
            self._url,
            content=_json_bytes({"text": text, "mrkdwn": False}),
            headers={"Content-Type": "application/json"},
            timeout=self.timeout,
            redact=_Redactor([self._url, path if len(path) > 1 else None]),
        )


def sign_payload(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Remediation-Signature`` value: ``sha256=`` + HMAC-SHA256 of ``timestamp + "." + body``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    max_age_seconds: float = 300,
    now: float | None = None,
) -> bool:
    """True when ``signature`` is ours for exactly this body and timestamp, and the timestamp is
    within ``max_age_seconds`` of ``now`` (either side, to allow clock skew). Never raises."""
    if not secret or not isinstance(signature, str) or not isinstance(timestamp, str):
        return False
    if not timestamp.isascii() or not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > max_age_seconds:
        return False
    scheme, _, received = signature.strip().partition("=")
    if scheme.lower() != "sha256" or not received:
        return False
    expected = sign_payload(secret, timestamp, body).partition("=")[2]
    return hmac.compare_digest(expected, received.lower())


class SignedWebhookChannel:
    """A generic JSON webhook: the body is :meth:`Notification.as_payload`, signed with HMAC-SHA256
    over ``timestamp + "." + body`` so a receiver can reject forgeries and replays
    (:func:`verify_signature`). ``X-Remediation-Delivery`` repeats the notification id on retries."""

    def __init__(
        self,
        url: str,
        secret: str,
        timeout: float = 10,
        *,
        name: str = "webhook",
        events: Collection[NotificationEvent | str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        _validate_http_url(url, what="webhook URL")
        if not secret:
            raise ValueError("webhook secret is empty")
        self.name = name
        self.events = _events(events)
        self.url = url
        self.timeout = timeout
        self._secret = secret
        self._clock = clock

    def __repr__(self) -> str:
        parts = urllib.parse.urlsplit(self.url)
        return f"SignedWebhookChannel(name={self.name!r}, url={parts.scheme}://{parts.netloc}{parts.path!s})"

    def send(self, n: Notification) -> DeliveryResult:
        body = _json_bytes(n.as_payload())
        timestamp = str(int(self._clock()))
        return _post(
            self.name,
            self.url,
            content=body,
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign_payload(self._secret, timestamp, body),
                TIMESTAMP_HEADER: timestamp,
                EVENT_HEADER: n.event.value,
                DELIVERY_HEADER: n.notification_id,
            },
            timeout=self.timeout,
            redact=_Redactor([self._secret]),
        )


class EmailChannel:
    """Plain-text mail through SMTP. ``use_tls`` is STARTTLS (typically port 587) and refuses to
    continue in clear text when the server does not offer it; ``use_ssl`` is implicit TLS (465).
    ``DeliveryResult.status`` carries the SMTP reply code when the server refused."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        username: str | None = None,
        password: str | None = None,
        use_tls: bool = False,
        timeout: float = 10,
        *,
        use_ssl: bool = False,
        name: str = "email",
        events: Collection[NotificationEvent | str] | None = None,
        local_hostname: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not host:
            raise ValueError("SMTP host is empty")
        if use_tls and use_ssl:
            raise ValueError("use_tls (STARTTLS) and use_ssl (implicit TLS) are mutually exclusive")
        if bool(username) != bool(password):
            raise ValueError("SMTP username and password must be given together")
        addresses = [sender, *recipients]
        if not recipients or any(not a or "@" not in a or any(c in a for c in "\r\n,") for a in addresses):
            raise ValueError("email sender and recipients must be single, non-empty addresses")
        self.name = name
        self.events = _events(events)
        self.host = host
        self.port = int(port)
        self.sender = sender
        self.recipients = tuple(recipients)
        self.username = username
        self.use_tls = use_tls
        self.use_ssl = use_ssl
        self.timeout = timeout
        self.local_hostname = local_hostname
        self._password = password
        self._ssl_context = ssl_context

    def __repr__(self) -> str:
        return (
            f"EmailChannel(name={self.name!r}, host={self.host!r}, port={self.port}, "
            f"recipients={list(self.recipients)!r}, use_tls={self.use_tls}, use_ssl={self.use_ssl})"
        )

    def build_message(self, n: Notification) -> EmailMessage:
        message = EmailMessage()
        # Folding whitespace away keeps RCA text from injecting headers through the subject.
        subject = _one_line(f"[remediation] [{n.severity.upper()}] {n.title}", EMAIL_MAX_SUBJECT)
        message["Subject"] = subject
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Date"] = email.utils.formatdate(usegmt=True)
        message["Message-ID"] = email.utils.make_msgid(
            idstring=n.notification_id,
            domain=self.sender.rpartition("@")[2] or "localhost",
        )
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to the robot
        message[EVENT_HEADER] = n.event.value
        message["X-Remediation-Notification-Id"] = n.notification_id
        message.set_content(render_plain_text(n, limit=EMAIL_MAX_BODY) + "\n")
        return message

    def send(self, n: Notification) -> DeliveryResult:
        redact = _Redactor([self._password])
        try:
            message = self.build_message(n)
            refused = self._transmit(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            retryable = bool(codes) and all(400 <= code < 500 for code in codes)
            error = "all recipients refused: " + "; ".join(
                f"{address} ({code} {_decode(reply)})" for address, (code, reply) in exc.recipients.items()
            )
            return DeliveryResult(
                self.name,
                False,
                retryable,
                codes[0] if codes else None,
                redact(_one_line(error)),
            )
        except smtplib.SMTPNotSupportedError as exc:
            return DeliveryResult(
                self.name,
                False,
                False,
                None,
                redact(f"server lacks a required feature: {exc}"),
            )
        except smtplib.SMTPResponseException as exc:
            code = int(exc.smtp_code)
            error = f"SMTP {code}: {_one_line(_decode(exc.smtp_error))}"
            return DeliveryResult(self.name, False, 400 <= code < 500, code, redact(error))
        except smtplib.SMTPServerDisconnected as exc:
            return DeliveryResult(
                self.name,
                False,
                True,
                None,
                redact(f"server disconnected: {_one_line(str(exc))}"),
            )
        except smtplib.SMTPException as exc:  # e.g. no common AUTH mechanism: configuration, not weather
            return DeliveryResult(
                self.name,
                False,
                False,
                None,
                redact(f"SMTP error: {_one_line(str(exc))}"),
            )
        except ssl.SSLError as exc:
            # A certificate or protocol mismatch is configuration; retrying will not fix it.
            return DeliveryResult(
                self.name,
                False,
                False,
                None,
                redact(f"TLS failed: {_one_line(str(exc))}"),
            )
        except (TimeoutError, OSError) as exc:
            return DeliveryResult(
                self.name,
                False,
                True,
                None,
                redact(f"connection failed: {_one_line(str(exc))}"),
            )
        except Exception as exc:  # noqa: BLE001 - send() must never raise
            error = redact(f"{type(exc).__name__}: {_one_line(str(exc))}")
            logger.error("unexpected error sending %s notification: %s", self.name, error)
            return DeliveryResult(self.name, False, False, None, error)
        if refused:
            # Some recipients got it; a retry would send them a duplicate, so report success
            # with the refusals spelled out.
            detail = "; ".join(f"{address} ({code} {_decode(reply)})" for address, (code, reply) in refused.items())
            return DeliveryResult(
                self.name,
                True,
                False,
                250,
                redact(_one_line(f"some recipients refused: {detail}")),
            )
        return DeliveryResult(self.name, True, False, 250, None)

    def _transmit(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        context = self._ssl_context or ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.use_ssl:
            smtp = smtplib.SMTP_SSL(
                self.host,
                self.port,
                timeout=self.timeout,
                local_hostname=self.local_hostname,
                context=context,
            )
        else:
            smtp = smtplib.SMTP(
                self.host,
                self.port,
                timeout=self.timeout,
                local_hostname=self.local_hostname,
            )
        with smtp:
            smtp.ehlo()
            if self.use_tls:
                smtp.starttls(context=context)  # raises SMTPNotSupportedError rather than go on in clear
                smtp.ehlo()
            if self.username and self._password:
                smtp.login(self.username, self._password)
            return smtp.send_message(message, from_addr=self.sender, to_addrs=list(self.recipients))


def _decode(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
