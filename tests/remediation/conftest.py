"""Fixtures for the lifecycle, approval, routing, audit and notification tests (issue 5).

Scripts come from tests.factories.ScriptFactory (a PASSED MEDIUM bash script awaiting approval);
the helpers here only add what those tests share: reading a script's audit trail, an agent's API
client, and a local HTTP receiver for the signed webhook channel.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

import pytest

if TYPE_CHECKING:
    from remediation.models import RemediationScript
    from templates_app.models import RemediationTemplate

API = "/api/generative-remediation/"
WEBHOOK_SECRET = "s3cret-for-webhook-tests-0123456789"


def make_script(**fields: Any) -> RemediationScript:
    """tests.factories.ScriptFactory, typed as the model it creates."""
    from tests.factories import ScriptFactory

    return cast("RemediationScript", ScriptFactory(**fields))


def make_template(**fields: Any) -> RemediationTemplate:
    from tests.factories import TemplateFactory

    return cast("RemediationTemplate", TemplateFactory(**fields))


def audit_of(script: Any, verb: str | None = None) -> list[Any]:
    """The script's audit events, oldest first, optionally only those with ``verb``."""
    from remediation.models import AuditEvent

    events = AuditEvent.objects.filter(object_type="script", object_id=str(script.pk)).order_by("at", "id")
    return list(events.filter(verb=verb) if verb else events)


def notifications_for(obj: Any, event: str | None = None) -> list[Any]:
    from remediation.models import NotificationRecord

    records = NotificationRecord.objects.filter(object_id=str(obj.pk)).order_by("created_at", "id")
    return list(records.filter(event=event) if event else records)


def fresh(script: Any) -> Any:
    from remediation.models import RemediationScript

    return RemediationScript.objects.get(pk=script.pk)


@pytest.fixture
def agent_and_token(roles: None) -> tuple[Any, str]:
    """An agent's user and its raw API token."""
    from remediation.services.accounts import agent_create

    agent, token, _ = agent_create(name="edge-agent", capabilities=["bash"])
    return agent.user, token.raw


@pytest.fixture
def agent_user(agent_and_token: tuple[Any, str]) -> Any:
    return agent_and_token[0]


@pytest.fixture
def agent_client(agent_and_token: tuple[Any, str]) -> Any:
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {agent_and_token[1]}")
    return client


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks: Callable[..., Any]) -> Callable[[], Any]:
    """``with on_commit(): ...`` runs the on-commit callbacks (eager Celery tasks) at the end of the block."""

    def capture() -> Any:
        return django_capture_on_commit_callbacks(execute=True)

    return capture


@pytest.fixture
def no_notification_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing leaves the machine: every NOTIFY_* variable is cleared, records end as "logged"."""
    import os

    for name in list(os.environ):
        if name.startswith("NOTIFY_"):
            monkeypatch.delenv(name)


@pytest.fixture
def webhook_receiver(monkeypatch: pytest.MonkeyPatch, no_notification_channels: None) -> Iterator[Any]:
    """A recording HTTP server on 127.0.0.1 configured as the signed webhook channel (secret WEBHOOK_SECRET)."""
    from tests.notifications.local_servers import RecordingHTTPServer

    server = RecordingHTTPServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("NOTIFY_WEBHOOK_URL", f"{server.url}/hooks/remediation")
    monkeypatch.setenv("NOTIFY_WEBHOOK_SECRET", WEBHOOK_SECRET)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
