"""Test set-up shared by every package: the embedded PostgreSQL, roles, people and an API client.

The database is the real embedded PostgreSQL 18 with pgvector (or DATABASE_URL when set); pytest-django
creates ``test_remediation`` on it. Celery runs tasks eagerly in-process here unless a test asks for
the real broker (tests/test_services_integration.py talks to the real RabbitMQ and Redis).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from config.bootstrap import ensure_embedded_database

ensure_embedded_database()

# Property tests explore new examples on developers' machines; CI replays a fixed sequence, so a
# red build always means a change, never the luck of the draw.
from hypothesis import settings as hypothesis_settings  # noqa: E402

hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() == "true":
    hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session")
def django_db_modify_db_settings() -> None:
    """One test database per test process (each xdist worker is its own process), so parallel
    sessions on the same embedded server never collide."""
    from django.conf import settings

    settings.DATABASES["default"]["TEST"]["NAME"] = f"test_remediation_{os.getpid()}"


def running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def bwrap_available() -> str:
    """Skip locally without bubblewrap; under CI=true a missing sandbox is a failure, never a skip."""
    from sandbox.local import SandboxUnavailable, find_bwrap

    try:
        return find_bwrap()
    except SandboxUnavailable as error:
        if running_in_ci():
            pytest.fail(f"these tests need bubblewrap in CI: {error}")
        pytest.skip(str(error))


@pytest.fixture(autouse=True)
def _eager_celery() -> Iterator[None]:
    """Tasks run in the test's own thread and transaction (on_commit fires with captureOnCommitCallbacks)."""
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def roles(db: Any) -> None:
    from remediation.access import ensure_role_groups

    ensure_role_groups()


@pytest.fixture
def make_person(roles: None) -> Callable[..., Any]:
    from tests.factories import PersonFactory

    def make(role: str = "supervisor", services: tuple[str, ...] = (), **fields: Any) -> Any:
        return PersonFactory(role=role, services=services, **fields)

    return make


@pytest.fixture
def supervisor(make_person: Callable[..., Any]) -> Any:
    return make_person("supervisor", username="sam-supervisor")


@pytest.fixture
def second_supervisor(make_person: Callable[..., Any]) -> Any:
    return make_person("supervisor", username="sue-supervisor")


@pytest.fixture
def operator(make_person: Callable[..., Any]) -> Any:
    return make_person("operator", username="oli-operator")


@pytest.fixture
def viewer(make_person: Callable[..., Any]) -> Any:
    return make_person("viewer", username="vic-viewer")


@pytest.fixture
def api_client() -> Any:
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def client_for(api_client: Any) -> Callable[[Any], Any]:
    """An API client authenticated as ``user`` with a real token (the path agents and automation use)."""
    from rest_framework.test import APIClient

    from remediation.services.accounts import token_issue

    def make(user: Any) -> Any:
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user).raw}")
        return client

    return make


@pytest.fixture
def seeded_templates(db: Any) -> None:
    from templates_app.services import seed_templates

    seed_templates()
