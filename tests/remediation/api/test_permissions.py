"""Every endpoint against every kind of caller: anonymous, viewer, operator, supervisor, agent, outsider.

The owner is a supervisor scoped to the script's service; the collaborator an operator on the same
service; the outsider a supervisor scoped to another service (sees nothing: 404, never 403, so
script ids do not leak across services).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from remediation.services.accounts import agent_create
from tests.factories import ScriptFactory, TemplateFactory

pytestmark = pytest.mark.django_db
BASE = "/api/generative-remediation/"


@pytest.fixture
def callers(make_person: Any, client_for: Any, api_client: Any) -> dict[str, Any]:
    _, agent_token, _ = agent_create(name="edge-agent", capabilities=["bash"], services=["checkout-api"])
    agent_client = client_for(None)
    agent_client.credentials(HTTP_AUTHORIZATION=f"Bearer {agent_token.raw}")
    return {
        "anonymous": api_client,
        "viewer": client_for(make_person("viewer", ("checkout-api",), username="viewer")),
        "operator": client_for(make_person("operator", ("checkout-api",), username="collaborator")),
        "supervisor": client_for(make_person("supervisor", ("checkout-api",), username="owner")),
        "agent": agent_client,
        "outsider": client_for(make_person("supervisor", ("payments",), username="outsider")),
    }


def _request(client: Any, method: str, url: str, body: Any = None) -> int:
    data = json.dumps(body) if body is not None else None
    return getattr(client, method)(url, data=data, content_type="application/json").status_code


READ = {"anonymous": 401, "viewer": 200, "operator": 200, "supervisor": 200, "agent": 200, "outsider": 404}


@pytest.mark.parametrize("caller", list(READ))
def test_reading_a_script(callers: dict[str, Any], caller: str) -> None:
    script = ScriptFactory()
    assert _request(callers[caller], "get", f"{BASE}scripts/{script.pk}") == READ[caller]
    assert _request(callers[caller], "get", f"{BASE}scripts/{script.pk}/audit") == READ[caller]


@pytest.mark.parametrize("caller", list(READ))
def test_listing_scripts_is_scoped(callers: dict[str, Any], caller: str) -> None:
    ScriptFactory()
    response = callers[caller].get(f"{BASE}scripts")
    if caller == "anonymous":
        assert response.status_code == 401
        return
    assert response.status_code == 200
    assert response.json()["count"] == (0 if caller == "outsider" else 1)


APPROVE = {"anonymous": 401, "viewer": 403, "operator": 403, "supervisor": 200, "agent": 403, "outsider": 403}


@pytest.mark.parametrize("caller", list(APPROVE))
def test_approving(callers: dict[str, Any], caller: str) -> None:
    script = ScriptFactory()
    status = _request(callers[caller], "post", f"{BASE}scripts/{script.pk}/approve", {"justification": "ok"})
    # The outsider passes the role check but cannot see the script: 404.
    assert status == (404 if caller == "outsider" else APPROVE[caller])
    script.refresh_from_db()
    assert script.approval_status == ("APPROVED" if caller == "supervisor" else "REQUIRED")


REJECT = {"anonymous": 401, "viewer": 403, "operator": 403, "supervisor": 200, "agent": 403, "outsider": 404}


@pytest.mark.parametrize("caller", list(REJECT))
def test_rejecting(callers: dict[str, Any], caller: str) -> None:
    script = ScriptFactory()
    assert (
        _request(callers[caller], "post", f"{BASE}scripts/{script.pk}/reject", {"justification": "wrong directory"})
        == REJECT[caller]
    )


EXECUTE = {"anonymous": 401, "viewer": 403, "operator": 409, "supervisor": 409, "agent": 403, "outsider": 404}


@pytest.mark.parametrize("caller", list(EXECUTE))
def test_executing_an_unapproved_script(callers: dict[str, Any], caller: str) -> None:
    script = ScriptFactory()
    assert _request(callers[caller], "post", f"{BASE}scripts/{script.pk}/execute") == EXECUTE[caller]
    script.refresh_from_db()
    assert script.execution_status == "PENDING"


VALIDATE = {"anonymous": 401, "viewer": 403, "operator": 202, "supervisor": 202, "agent": 202, "outsider": 404}


@pytest.mark.parametrize("caller", list(VALIDATE))
def test_validating(callers: dict[str, Any], caller: str) -> None:
    script = ScriptFactory()
    assert _request(callers[caller], "post", f"{BASE}scripts/{script.pk}/validate") == VALIDATE[caller]


GENERATE = {"anonymous": 401, "viewer": 403, "operator": 202, "supervisor": 202, "agent": 202, "outsider": 403}


@pytest.mark.parametrize("caller", list(GENERATE))
def test_generating(callers: dict[str, Any], caller: str, seeded_templates: None) -> None:
    from tests.factories import rca_payload

    status = _request(callers[caller], "post", f"{BASE}generate", rca_payload(confidence=0.6))
    assert status == GENERATE[caller]


TEMPLATE_WRITE = {"anonymous": 401, "viewer": 403, "operator": 403, "supervisor": 201, "agent": 403, "outsider": 201}


@pytest.mark.parametrize("caller", list(TEMPLATE_WRITE))
def test_template_writes_are_supervisor_only(callers: dict[str, Any], caller: str) -> None:
    body = {
        "name": f"clean-tmp-{caller}",
        "root_cause_category": "disk_full",
        "script_language": "bash",
        "target_systems": ["linux"],
        "template_content": "#!/usr/bin/env bash\nset -euo pipefail\ndf -h /\n",
    }
    assert _request(callers[caller], "post", f"{BASE}templates", body) == TEMPLATE_WRITE[caller]
    template = TemplateFactory()
    put_status = _request(callers[caller], "put", f"{BASE}templates/{template.pk}", {**body, "name": template.name})
    assert put_status == (200 if TEMPLATE_WRITE[caller] == 201 else TEMPLATE_WRITE[caller])
    delete_status = _request(callers[caller], "delete", f"{BASE}templates/{template.pk}")
    assert delete_status == (204 if TEMPLATE_WRITE[caller] == 201 else TEMPLATE_WRITE[caller])


@pytest.mark.parametrize("caller", list(READ))
def test_template_reads(callers: dict[str, Any], caller: str) -> None:
    TemplateFactory()
    assert _request(callers[caller], "get", f"{BASE}templates") == (401 if caller == "anonymous" else 200)


def test_a_revoked_or_unknown_token_is_401(api_client: Any) -> None:
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api_client.get(f"{BASE}scripts").status_code == 401
