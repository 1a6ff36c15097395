"""Security review: the execution websocket refuses people without a role and cross-site pages.

(tests/remediation/test_websocket.py already covers anonymous callers and people scoped to another
service.) The real ASGI application is used, with the in-memory channel layer.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from remediation.models import ExecutionRun, RemediationScript
from tests.factories import ScriptFactory

pytestmark = pytest.mark.django_db(transaction=True)


def make_script(**fields: Any) -> RemediationScript:
    return cast("RemediationScript", ScriptFactory(**fields))


@pytest.fixture(autouse=True)
def in_memory_layer(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def run(roles: None) -> ExecutionRun:
    script = make_script(service="checkout-api")
    return ExecutionRun.objects.create(
        script=script, environment="sandbox", idempotency_key=f"{script.pk}:s:1", script_sha256=script.script_sha256
    )


def session_headers(user: Any, origin: bytes) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    return [
        (b"origin", origin),
        (b"host", b"testserver"),
        (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
    ]


async def _connects(run: ExecutionRun, user: Any, origin: bytes) -> bool:
    from config.asgi import application

    headers = await sync_to_async(session_headers)(user, origin)
    communicator = WebsocketCommunicator(application, f"/ws/executions/{run.pk}/", headers=headers)
    connected, _code = await communicator.connect()
    await communicator.disconnect()
    return bool(connected)


def test_logged_in_person_without_a_role_is_refused(run: ExecutionRun, make_person: Any) -> None:
    nobody = User.objects.create_user("no-role-ws", password="x", is_staff=True)
    assert not async_to_sync(_connects)(run, nobody, b"http://testserver")
    # Control: the same request from a person with a role connects.
    assert async_to_sync(_connects)(run, make_person("viewer"), b"http://testserver")


def test_cross_site_origin_is_refused_even_with_a_valid_session(run: ExecutionRun, make_person: Any) -> None:
    assert not async_to_sync(_connects)(run, make_person("supervisor"), b"http://evil.example")
