"""The execution websocket through the real ASGI application: session auth, per-run access, forwarding.

The channel layer is swapped for the in-memory one; the database is real, and the test is
transactional because the consumer reads it through database_sync_to_async. Each test is a
coroutine driven by async_to_sync (no pytest-asyncio needed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from remediation.live_events import LogLineEvent, StatusEvent, publish
from remediation.models import ExecutionRun
from tests.factories import ScriptFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def in_memory_layer(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def run(db: Any) -> ExecutionRun:
    script = ScriptFactory(service="checkout-api")
    return ExecutionRun.objects.create(
        script=script, environment="sandbox", idempotency_key=f"{script.pk}:s:1", script_sha256=script.script_sha256
    )


def headers_for(user: Any | None) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if user is not None:
        client = Client()
        client.force_login(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return headers


async def connect(run: ExecutionRun, user: Any | None) -> tuple[WebsocketCommunicator, bool, Any]:
    from config.asgi import application

    headers = await sync_to_async(headers_for)(user)
    communicator = WebsocketCommunicator(application, f"/ws/executions/{run.pk}/", headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def _authorised_user_receives_published_events(run: ExecutionRun, operator: Any) -> None:
    communicator, connected, _ = await connect(run, operator)
    assert connected
    line: LogLineEvent = {"type": "log", "run_id": str(run.pk), "seq": 1, "stream": "stdout", "text": "hello"}
    status: StatusEvent = {"type": "status", "run_id": str(run.pk), "seq": 2, "status": "SUCCESS", "exit_code": 0}
    await sync_to_async(publish)(line)
    await sync_to_async(publish)(status)
    assert await communicator.receive_json_from(timeout=5) == line
    assert await communicator.receive_json_from(timeout=5) == status
    await communicator.disconnect()


async def _events_of_other_runs_are_not_forwarded(run: ExecutionRun, operator: Any) -> None:
    communicator, connected, _ = await connect(run, operator)
    assert connected
    other = "00000000-0000-0000-0000-000000000001"
    await sync_to_async(publish)({"type": "log", "run_id": other, "seq": 1, "stream": "stdout", "text": "not yours"})
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def _outsider_scoped_to_another_service_is_refused(run: ExecutionRun, make_person: Callable[..., Any]) -> None:
    outsider = await sync_to_async(make_person)("operator", services=("billing",), username="billing-op")
    _communicator, connected, code = await connect(run, outsider)
    assert not connected and code == 4403


async def _anonymous_is_refused(run: ExecutionRun) -> None:
    _communicator, connected, code = await connect(run, None)
    assert not connected and code == 4403


def test_authorised_user_receives_published_events(run: ExecutionRun, operator: Any) -> None:
    async_to_sync(_authorised_user_receives_published_events)(run, operator)


def test_events_of_other_runs_are_not_forwarded(run: ExecutionRun, operator: Any) -> None:
    async_to_sync(_events_of_other_runs_are_not_forwarded)(run, operator)


def test_outsider_scoped_to_another_service_is_refused(run: ExecutionRun, make_person: Callable[..., Any]) -> None:
    async_to_sync(_outsider_scoped_to_another_service_is_refused)(run, make_person)


def test_anonymous_is_refused(run: ExecutionRun) -> None:
    async_to_sync(_anonymous_is_refused)(run)
