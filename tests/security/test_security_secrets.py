"""Security review: secrets must not surface in audit events, API responses, notifications, logs or run output.

API tokens are shown once and stored as SHA-256 only; environment secrets (LLM key, notification
secrets, database URLs) must never be readable through anything a person or agent can see.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, cast

import pytest

from remediation.models import ApiToken, AuditEvent, ExecutionRun, NotificationRecord, RemediationScript, ServiceBudget
from remediation.services.accounts import agent_create, token_issue
from tests.factories import ScriptFactory, rca_payload

pytestmark = pytest.mark.django_db


def make_script(**fields: Any) -> RemediationScript:
    return cast("RemediationScript", ScriptFactory(**fields))


API = "/api/generative-remediation/"


def everything_stored() -> str:
    """Audit events and notifications as one text, to search for a leaked value."""
    events = list(AuditEvent.objects.values("actor_label", "before", "after", "details", "object_id"))
    notes = list(NotificationRecord.objects.values("title", "body", "channel_results"))
    return json.dumps([events, notes], default=str)


def test_raw_tokens_are_never_stored_logged_or_returned(
    make_person: Callable[..., Any], caplog: pytest.LogCaptureFixture, roles: None
) -> None:
    caplog.set_level(logging.DEBUG)
    person = make_person("supervisor")
    issued = token_issue(user=person)
    _agent, agent_token, _ = agent_create(name="edge", capabilities=["bash"])
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.raw}")
    created = client.post(API + "generate", rca_payload(), format="json")
    assert created.status_code == 202
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}x")
    refused = bad.get(API + "scripts")
    assert refused.status_code == 401
    for raw in (issued.raw, agent_token.raw):
        assert not ApiToken.objects.filter(key_hash=raw).exists()
        assert raw not in everything_stored()
        assert raw not in caplog.text
        assert raw[:20] not in created.content.decode() + refused.content.decode()
    assert issued.token.prefix == issued.raw[:8] and len(issued.token.prefix) == 8


def test_revoked_and_inactive_tokens_stop_working(make_person: Callable[..., Any]) -> None:
    from rest_framework.test import APIClient

    person = make_person("operator")
    first = token_issue(user=person)
    token_issue(user=person, revoke_others=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {first.raw}")
    assert client.get(API + "scripts").status_code == 401
    second = token_issue(user=person)
    person.is_active = False
    person.save(update_fields=["is_active"])
    client.credentials(HTTP_AUTHORIZATION=f"Token {second.raw}")
    assert client.get(API + "scripts").status_code == 401


def test_script_and_run_responses_carry_no_account_details(
    make_person: Callable[..., Any], client_for: Callable[[Any], Any]
) -> None:
    requester = make_person("supervisor", email="alice@example.test")
    script = make_script(requested_by=requester)
    run = ExecutionRun.objects.create(
        script=script,
        environment="sandbox",
        idempotency_key=f"{script.pk}:s:1",
        script_sha256=script.script_sha256,
        traceback="Traceback: /srv/app/secret.py",
    )
    client = client_for(make_person("viewer"))
    body = (
        client.get(API + f"scripts/{script.pk}").content.decode() + client.get(API + f"runs/{run.pk}").content.decode()
    )
    assert "alice@example.test" not in body and "password" not in body
    assert "secret.py" not in body  # tracebacks stay in the admin, not in the API


def test_notification_bodies_do_not_copy_rca_free_text(roles: None) -> None:
    from remediation.services.notify import notify_execution_failed, notify_script_needs_review

    leaked = "AKIAIOSFODNN7EXAMPLE"
    script = make_script(
        root_cause_analysis=rca_payload(
            summary=f"key {leaked} in logs", evidence=[{"kind": "log", "text": f"aws {leaked}"}]
        )
    )
    notify_script_needs_review(script)
    notify_execution_failed(script, "Target run failed: exit 1")
    assert NotificationRecord.objects.count() == 2
    assert leaked not in everything_stored()


def test_a_forged_request_id_header_is_replaced(client_for: Callable[[Any], Any], make_person: Any) -> None:
    client = client_for(make_person("viewer"))
    response = client.get(API + "scripts", HTTP_X_REQUEST_ID="abc\r\nSet-Cookie: x=1")
    assert response["X-Request-ID"] != "abc\r\nSet-Cookie: x=1" and "\n" not in response["X-Request-ID"]


def test_sql_target_errors_never_echo_an_environment_secret(monkeypatch: pytest.MonkeyPatch, roles: None) -> None:
    from remediation.services.execution import RunLog
    from remediation.services.target_runners import sql_stage

    secret = "sk-live-TOPSECRET-0123456789"
    monkeypatch.setenv("REMEDIATION_TEST_LEAKY_SECRET", secret)
    ServiceBudget.objects.create(service="checkout-api", target_database_url_env="REMEDIATION_TEST_LEAKY_SECRET")
    script = make_script(script_language="sql", target_system="postgresql", generated_script="SELECT 1;\n")
    run = ExecutionRun.objects.create(
        script=script, environment="sandbox", idempotency_key=f"{script.pk}:s:1", script_sha256=script.script_sha256
    )
    lines: list[str] = []
    log = cast("RunLog", lambda stream, text: lines.append(text))  # the runner only calls log(stream, text)
    outcome = sql_stage(rehearsal=True)(script, run, log)
    assert outcome.status == "FAILED"
    assert secret not in outcome.error and not any(secret in line for line in lines)
