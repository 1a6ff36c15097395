"""What a notification says, independent of where it is delivered.

A :class:`Notification` is built once (by a service, after the transaction that caused it has
committed) and handed to every configured channel. It round-trips through JSON with
:meth:`Notification.as_payload` / :meth:`Notification.from_payload`, so a Celery task can carry it
with the JSON serializer and a retry re-sends the same ``notification_id`` (receivers use it to
drop duplicates).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class NotificationEvent(StrEnum):
    """Why a supervisor is being told something. Values are stable: they appear in payloads and
    in the ``NOTIFY_EVENTS`` filter."""

    SCRIPT_NEEDS_REVIEW = "script_needs_review"
    HIGH_AUTO_EXECUTED = "high_auto_executed"
    EXECUTION_FAILED = "execution_failed"
    UNSAFE_SCRIPT_DETECTED = "unsafe_script_detected"
    TEMPLATE_QUARANTINED = "template_quarantined"
    APPROVAL_EXPIRING = "approval_expiring"
    APPROVAL_ESCALATED = "approval_escalated"
    TEMPLATE_PROPOSED = "template_proposed"


class NotificationSeverity(StrEnum):
    """Suggested values for :attr:`Notification.severity`; any non-empty string is accepted."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_notification_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Notification:
    """One message for people. ``body`` is plain text; channels escape and truncate it as their
    format needs. ``details`` carries structured extras (script id, confidence, ...) for the signed
    webhook and the admin list; it is copied on construction so later edits by the caller do not
    leak into a notification already queued."""

    event: NotificationEvent
    title: str
    body: str
    url: str | None
    severity: str
    object_id: str | None
    details: Mapping[str, Any]
    notification_id: str = field(default_factory=_new_notification_id)
    created_at: dt.datetime = field(default_factory=_utc_now)

    def __post_init__(self) -> None:
        # Accept a plain string for the event (e.g. from a task payload) but store the enum, so
        # a typo fails here instead of in a channel filter later.
        object.__setattr__(self, "event", NotificationEvent(self.event))
        if not self.title.strip():
            raise ValueError("a notification needs a title")
        if not self.severity.strip():
            raise ValueError("a notification needs a severity")
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")
        object.__setattr__(self, "details", dict(self.details))

    def as_payload(self) -> dict[str, Any]:
        """A JSON-safe dict: enums become their values, datetimes ISO 8601 strings, UUIDs, Decimals
        and other unknown objects their ``str()``; mapping keys become strings."""
        return {
            "notification_id": self.notification_id,
            "event": self.event.value,
            "severity": self.severity,
            "title": self.title,
            "body": self.body,
            "url": self.url,
            "object_id": self.object_id,
            "created_at": self.created_at.isoformat(),
            "details": _json_safe(self.details),
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Notification:
        """Rebuild a notification from :meth:`as_payload` output (details stay JSON values)."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {key: value for key, value in payload.items() if key in known}
        if "created_at" in values and isinstance(values["created_at"], str):
            values["created_at"] = dt.datetime.fromisoformat(values["created_at"])
        values.setdefault("details", {})
        return cls(**values)


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        # NaN and infinities are not JSON; say what they were instead of emitting invalid JSON.
        return value if math.isfinite(value) else str(value)
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [_json_safe(item) for item in items]
    return str(value)
