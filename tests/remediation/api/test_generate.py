"""POST generate: schema errors name the field and store nothing; valid findings become routed scripts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import TestCase

from remediation.models import Anomaly, AuditEvent, RemediationScript
from tests.factories import rca_payload

pytestmark = pytest.mark.django_db
URL = "/api/generative-remediation/generate"
EXAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "examples" / "rca"


def _post(client: Any, body: Any) -> Any:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(URL, data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"confidence": 1.7}, "confidence"),
        ({"target_system": "windows"}, "target_system"),
        ({"root_cause_category": "Disk Full!"}, "root_cause_category"),
        ({"evidence": [{"kind": "log"}]}, "evidence[0].text"),
        ({"parameters": {"path": {"nested": "object"}}}, "parameters.path"),
    ],
)
def test_invalid_finding_is_400_naming_the_field_and_stores_nothing(
    client_for: Any, operator: Any, change: dict[str, Any], field: str, seeded_templates: None
) -> None:
    response = _post(client_for(operator), rca_payload(**change))
    assert response.status_code == 400, response.content
    assert field in response.json()["field"]
    assert RemediationScript.objects.count() == 0
    assert Anomaly.objects.count() == 0


def test_missing_required_field_is_named(client_for: Any, operator: Any) -> None:
    body = rca_payload()
    del body["summary"]
    response = _post(client_for(operator), body)
    assert response.status_code == 400
    assert response.json()["field"] == "summary"


def test_valid_finding_is_accepted_generated_validated_and_routed(
    client_for: Any, operator: Any, seeded_templates: None
) -> None:
    response = _post(client_for(operator), rca_payload(confidence=0.7))
    assert response.status_code == 202, response.content
    script = RemediationScript.objects.get(pk=response.json()["id"])
    assert script.generator == "template"
    assert script.template is not None and script.template.root_cause_category == "disk_full"
    assert "/var/cache/checkout" in script.generated_script
    assert script.validation_status == "PASSED"
    assert script.confidence_level == "MEDIUM"
    assert script.approval_status == "REQUIRED"
    verbs = list(AuditEvent.objects.filter(object_id=str(script.pk)).values_list("verb", flat=True))
    assert verbs[:3] == ["remediation.requested", "script.generated", "script.validated"]


def test_identical_open_finding_is_deduplicated(client_for: Any, operator: Any, seeded_templates: None) -> None:
    client = client_for(operator)
    first = _post(client, rca_payload(confidence=0.7))
    second = _post(client, rca_payload(confidence=0.7, summary="same incident, new words"))
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert RemediationScript.objects.count() == 1


def test_prompt_injection_in_evidence_never_reaches_the_script(
    client_for: Any, operator: Any, seeded_templates: None
) -> None:
    hostile = json.loads((EXAMPLES / "injection_in_evidence.json").read_text())
    response = _post(client_for(operator), hostile)
    assert response.status_code == 202
    script = RemediationScript.objects.get(pk=response.json()["id"])
    assert "rm -rf /" not in script.generated_script
    assert "203.0.113.9" not in script.generated_script
    # The attacker asked for HIGH; the route comes from the score, and no hostile value was rendered.
    assert script.approval_status != "APPROVED" or script.confidence_level == "HIGH"
    assert script.confidence_factors.get("rca_confidence") == 0.9
    generated = AuditEvent.objects.get(object_id=str(script.pk), verb="script.generated")
    assert any("refused" in note and "path" in note for note in generated.details["notes"])
    assert script.confidence_level != "HIGH"
