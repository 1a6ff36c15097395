"""An exact repeat of a finding that was remediated successfully reuses that script; a configured
fallback action is used when nothing else fits, at LOW confidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from remediation.lifecycle import SYSTEM
from remediation.models import RemediationScript
from remediation.services.generation import script_generate
from remediation.services.intake import request_remediation

pytestmark = pytest.mark.django_db
EXAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "examples" / "rca"


def _generate(payload: dict[str, Any]) -> RemediationScript:
    script, _ = request_remediation(payload=payload, actor=SYSTEM, enqueue=False)
    return script_generate(script_id=script.pk, no_llm=True)


def test_a_repeat_of_a_remediated_finding_reuses_the_script_that_worked(seeded_templates: None) -> None:
    payload = json.loads((EXAMPLES / "idle_connections.json").read_text())
    first = _generate(payload)
    RemediationScript.objects.filter(pk=first.pk).update(execution_status="SUCCESS", approval_status="APPROVED")
    again = _generate({**payload, "summary": "the same leak, a week later"})
    assert again.pk != first.pk
    assert again.generator == "reuse"
    assert again.generated_script == first.generated_script
    assert again.template_version_id == first.template_version_id
    assert again.validation_status == "PASSED"
    assert again.approval_status == "REQUIRED"  # a new approval binds to the new script


def test_a_configured_fallback_action_is_used_at_low_confidence(seeded_templates: None, settings: Any) -> None:
    settings.GENERATION_FALLBACK_TEMPLATES = {"clock_skew": "service_down_restart_unit"}
    payload = json.loads((EXAMPLES / "novel_ntp_drift.json").read_text())
    payload["parameters"] = {
        **payload["parameters"],
        "unit": "chronyd.service",
        "health_url": "http://127.0.0.1:8080/healthz",
    }
    script = _generate(payload)
    assert script.generator == "fallback"
    assert script.confidence_level == "LOW"
    assert script.needs_detailed_review
    assert "chronyd.service" in script.generated_script


def test_without_a_fallback_a_novel_finding_goes_to_manual_review(seeded_templates: None) -> None:
    script = _generate(json.loads((EXAMPLES / "novel_ntp_drift.json").read_text()))
    assert script.generated_script == ""
    assert "manual review" in script.error
