"""Template versions, quarantine release and promotion proposals through the API."""

from __future__ import annotations

from typing import Any

import pytest

from templates_app.models import RemediationTemplate, TemplateProposal
from tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db
BASE = "/api/generative-remediation/"
SAFE = "#!/usr/bin/env bash\nset -euo pipefail\ndf -h {{ mount_point|shell }}\n"
VARIABLES = [{"name": "mount_point", "type": "path", "allow_system_paths": True, "source": "parameters.mount_point"}]


def _template_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "disk-report",
        "root_cause_category": "disk_full",
        "script_language": "bash",
        "target_systems": ["linux"],
        "template_content": SAFE,
        "template_variables": VARIABLES,
    }
    body.update(overrides)
    return body


def test_an_edit_makes_a_new_version_and_keeps_the_old_one(client_for: Any, supervisor: Any) -> None:
    client = client_for(supervisor)
    created = client.post(f"{BASE}templates", _template_body(), format="json")
    assert created.status_code == 201, created.content
    template_id = created.json()["id"]
    edited = client.put(
        f"{BASE}templates/{template_id}",
        _template_body(template_content=SAFE + "du -sh {{ mount_point|shell }}\n"),
        format="json",
    )
    assert edited.status_code == 200
    assert edited.json()["version"] == 2
    template = RemediationTemplate.objects.get(pk=template_id)
    assert list(template.versions.values_list("version", flat=True)) == [2, 1]
    assert "du -sh" not in template.versions.get(version=1).template_content


def test_a_template_that_pastes_a_value_unquoted_is_refused(client_for: Any, supervisor: Any) -> None:
    response = client_for(supervisor).post(
        f"{BASE}templates", _template_body(template_content="df -h {{ mount_point }}\n"), format="json"
    )
    assert response.status_code == 400
    assert response.json()["field"] == "template_content"
    assert not RemediationTemplate.objects.exists()


@pytest.mark.parametrize(("role", "expected"), [("supervisor", 200), ("operator", 403), ("viewer", 403)])
def test_releasing_a_quarantined_template(client_for: Any, make_person: Any, role: str, expected: int) -> None:
    template = TemplateFactory(is_quarantined=True, quarantine_reason="3 consecutive failed executions")
    client = client_for(make_person(role, username=f"{role}-releaser"))
    response = client.post(f"{BASE}templates/{template.pk}/release", {"justification": "fixed upstream"}, format="json")
    assert response.status_code == expected
    template.refresh_from_db()
    assert template.is_quarantined is (expected != 200)


def test_release_needs_a_justification(client_for: Any, supervisor: Any) -> None:
    template = TemplateFactory(is_quarantined=True)
    response = client_for(supervisor).post(f"{BASE}templates/{template.pk}/release", {}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "justification"


def test_a_supervisor_accepts_a_proposal_and_a_viewer_cannot(client_for: Any, supervisor: Any, viewer: Any) -> None:
    proposal = TemplateProposal.objects.create(
        root_cause_category="disk_full",
        script_language="bash",
        target_system="linux",
        proposed_content=SAFE,
        proposed_variables=VARIABLES,
        success_count=3,
    )
    assert client_for(viewer).get(f"{BASE}template-proposals").json()["count"] == 1
    refused = client_for(viewer).post(f"{BASE}template-proposals/{proposal.pk}/accept", {"name": "x"}, format="json")
    assert refused.status_code == 403
    accepted = client_for(supervisor).post(
        f"{BASE}template-proposals/{proposal.pk}/accept", {"name": "disk-report-promoted"}, format="json"
    )
    assert accepted.status_code == 201, accepted.content
    assert RemediationTemplate.objects.get(name="disk-report-promoted").source == "promoted"
    proposal.refresh_from_db()
    assert proposal.status == "accepted"
