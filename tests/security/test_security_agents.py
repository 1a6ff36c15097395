"""Security review: the agent protocol as a hostile agent (or a person with a token) would use it.

An agent may only claim scripts in its service scope and only act on runs it holds; people never
pass the agent endpoints, and agents never pass the people's decision endpoints, whatever groups
their accounts are given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from remediation.models import ApprovalDecision, ExecutionLogLine, ExecutionRun, RemediationScript
from remediation.services.accounts import agent_create
from tests.factories import ScriptFactory, record_policy_approval

pytestmark = pytest.mark.django_db


def make_script(**fields: Any) -> RemediationScript:
    return cast("RemediationScript", ScriptFactory(**fields))


API = "/api/generative-remediation/"
SCRIPT = "#!/usr/bin/env bash\nset -euo pipefail\necho cleaning\n"


@pytest.fixture(autouse=True)
def agent_backend(settings: Any) -> None:
    settings.SANDBOX_BACKEND = "agent"
    settings.EXECUTION_LEASE_SECONDS = 60


@pytest.fixture
def make_agent(roles: None) -> Callable[..., tuple[Any, APIClient]]:
    def make(name: str, services: tuple[str, ...] = ()) -> tuple[Any, APIClient]:
        agent, issued, _ = agent_create(name=name, capabilities=["bash"], services=services)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {issued.raw}")
        return agent, client

    return make


def queued_script(service: str) -> RemediationScript:
    script: RemediationScript = make_script(
        service=service,
        generated_script=SCRIPT,
        approval_status="APPROVED",
        execution_status="QUEUED",
        approved_at=timezone.now(),
    )
    record_policy_approval(script)
    return script


def test_agent_cannot_see_or_claim_another_services_script(make_agent: Callable[..., Any]) -> None:
    foreign = queued_script("checkout-api")
    own = queued_script("billing")
    _, client = make_agent("billing-agent", services=("billing",))
    listed = {item["id"] for item in client.get(API + "agent/work").json()["scripts"]}
    assert listed == {str(own.pk)}
    response = client.post(API + f"scripts/{foreign.pk}/claim", {}, format="json")
    assert response.status_code == 404 and SCRIPT not in response.content.decode()
    foreign.refresh_from_db()
    assert foreign.execution_status == "QUEUED" and not foreign.runs.exists()


def test_agent_cannot_act_on_a_run_another_agent_holds(make_agent: Callable[..., Any]) -> None:
    script = queued_script("checkout-api")
    _, holder = make_agent("holder", services=("checkout-api",))
    _, same_scope = make_agent("same-scope", services=("checkout-api",))
    _, other_scope = make_agent("other-scope", services=("billing",))
    run_id = holder.post(API + f"scripts/{script.pk}/claim", {}, format="json").json()["run_id"]
    result = {"script_sha256": script.script_sha256, "exit_code": 0}
    calls = [
        ("start", {}),
        ("heartbeat", {}),
        ("log", {"lines": [{"seq": 1, "stream": "stdout", "text": "forged"}]}),
        ("result", result),
    ]
    for client, expected in ((same_scope, 403), (other_scope, 404)):
        for action, body in calls:
            response = client.post(API + f"runs/{run_id}/{action}", body, format="json")
            assert response.status_code == expected, (action, response.status_code, response.content)
    run = ExecutionRun.objects.get(pk=run_id)
    assert run.status == "CLAIMED" and not ExecutionLogLine.objects.filter(run=run).exists()
    # The holder itself still can.
    assert holder.post(API + f"runs/{run_id}/start", {}, format="json").status_code == 200


def test_agent_cannot_report_success_for_text_other_than_the_approved(make_agent: Callable[..., Any]) -> None:
    script = queued_script("checkout-api")
    _, client = make_agent("liar", services=("checkout-api",))
    run_id = client.post(API + f"scripts/{script.pk}/claim", {}, format="json").json()["run_id"]
    client.post(API + f"runs/{run_id}/start", {}, format="json")
    response = client.post(API + f"runs/{run_id}/result", {"script_sha256": "0" * 64, "exit_code": 0}, format="json")
    assert response.status_code == 409
    assert RemediationScript.objects.get(pk=script.pk).execution_status == "RUNNING"


def test_people_never_pass_the_agent_endpoints(make_person: Callable[..., Any], client_for: Any) -> None:
    script = queued_script("checkout-api")
    client = client_for(make_person("supervisor"))
    assert client.get(API + "agent/work").status_code == 403
    assert client.post(API + f"scripts/{script.pk}/claim", {}, format="json").status_code == 403


def test_disabled_agent_is_refused(make_agent: Callable[..., Any]) -> None:
    script = queued_script("checkout-api")
    agent, client = make_agent("retired")
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    assert client.post(API + f"scripts/{script.pk}/claim", {}, format="json").status_code == 403


def test_agent_in_supervisor_and_operator_groups_still_cannot_decide(make_agent: Callable[..., Any]) -> None:
    """Group membership given by mistake must not turn an agent token into a supervisor."""
    script: RemediationScript = make_script(service="checkout-api")
    agent, client = make_agent("promoted")
    agent.user.groups.add(Group.objects.get(name="supervisor"), Group.objects.get(name="operator"))
    agent.user.is_superuser = True
    agent.user.save(update_fields=["is_superuser"])
    for action, body in (
        ("approve", {"justification": "ok"}),
        ("reject", {"justification": "no"}),
        ("revise", {"generated_script": SCRIPT + "echo more\n"}),
        ("execute", {}),
        ("comments", {"body": "hi"}),
    ):
        response = client.post(API + f"scripts/{script.pk}/{action}", body, format="json")
        assert response.status_code == 403, (action, response.status_code)
    script.refresh_from_db()
    assert (script.approval_status, script.is_current_revision) == ("REQUIRED", True)
    assert not ApprovalDecision.objects.filter(script=script).exists()


def test_agent_result_with_a_nul_in_validation_details_is_not_a_500(make_agent: Callable[..., Any]) -> None:
    script = queued_script("checkout-api")
    _, client = make_agent("nul-agent", services=("checkout-api",))
    client.raise_request_exception = False
    run_id = client.post(API + f"scripts/{script.pk}/claim", {}, format="json").json()["run_id"]
    client.post(API + f"runs/{run_id}/start", {}, format="json")
    response = client.post(
        API + f"runs/{run_id}/result",
        {"script_sha256": script.script_sha256, "exit_code": 0, "validation": {"note": "a\u0000b"}},
        format="json",
    )
    assert response.status_code < 500
