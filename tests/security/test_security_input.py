"""Security review: hostile input from RCA authors and API callers.

The RCA is untrusted. Nothing an authenticated caller sends may crash the server (a 500 is a bug
and, repeated, a cheap denial of service), values may only reach scripts through the typed and
quoted template path, and text shown to supervisors is always escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest
from django.test import Client
from django.urls import reverse

from remediation.lifecycle import SYSTEM, record_event
from remediation.models import (
    ApprovalDecision,
    ExecutionLogLine,
    ExecutionRun,
    RemediationScript,
    ReviewComment,
    ValidationReport,
)
from templates_app.models import RemediationTemplate
from tests.factories import ScriptFactory, TemplateFactory, rca_payload

pytestmark = pytest.mark.django_db


def make_script(**fields: Any) -> RemediationScript:
    return cast("RemediationScript", ScriptFactory(**fields))


def make_template(**fields: Any) -> RemediationTemplate:
    return cast("RemediationTemplate", TemplateFactory(**fields))


API = "/api/generative-remediation/"
HOSTILE_HTML = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def api(make_person: Callable[..., Any], client_for: Callable[[Any], Any]) -> Any:
    client = client_for(make_person("supervisor"))
    client.raise_request_exception = False  # see the 500 the way a caller would
    return client


def assert_refused_cleanly(response: Any) -> None:
    assert response.status_code < 500, response.status_code
    assert response.status_code in (400, 403, 404, 413), response.status_code


# ------------------------------------------------------------------------------------------ crashes (500)


def test_deeply_nested_json_is_a_400_not_a_500(api: Any) -> None:
    depth = 100_000
    assert_refused_cleanly(api.post(API + "generate", data="[" * depth + "]" * depth, content_type="application/json"))


def test_nul_character_in_rca_is_a_400_not_a_500(api: Any) -> None:
    assert_refused_cleanly(api.post(API + "generate", rca_payload(summary="disk\u0000full"), format="json"))
    assert not RemediationScript.objects.exists()


def test_impossible_detected_at_is_a_400_not_a_500(api: Any) -> None:
    assert_refused_cleanly(api.post(API + "generate", rca_payload(detected_at="2024-13-45T10:00:00"), format="json"))


def test_non_string_title_is_a_400_not_a_500(api: Any) -> None:
    assert_refused_cleanly(api.post(API + "generate", rca_payload(title=5), format="json"))


def test_diff_with_a_malformed_from_parameter_is_not_a_500(api: Any) -> None:
    script = make_script()
    assert_refused_cleanly(api.get(API + f"scripts/{script.pk}/diff", {"from": "not-a-uuid"}))


def test_template_with_a_non_string_variable_pattern_is_a_400_not_a_500(api: Any) -> None:
    body = {
        "name": "bad-pattern",
        "root_cause_category": "disk_full",
        "script_language": "bash",
        "target_systems": ["linux"],
        "template_content": "#!/usr/bin/env bash\necho {{ x | shell_quote }}\n",
        "template_variables": [{"name": "x", "type": "string", "pattern": 5}],
    }
    assert_refused_cleanly(api.post(API + "templates", body, format="json"))


def test_admin_comment_with_a_nul_character_is_not_a_500(make_person: Callable[..., Any]) -> None:
    script = make_script()
    client = Client(raise_request_exception=False)
    client.force_login(make_person("operator"))
    response = client.post(
        reverse("admin:remediation_remediationscript_review", args=[script.pk, "comment"]), {"body": "a\x00b"}
    )
    assert response.status_code < 500


def test_api_text_fields_refuse_nul_characters(api: Any) -> None:
    script = make_script()
    assert api.post(API + f"scripts/{script.pk}/comments", {"body": "a\u0000b"}, format="json").status_code == 400
    assert (
        api.post(API + f"scripts/{script.pk}/reject", {"justification": "a\u0000b"}, format="json").status_code == 400
    )
    assert not ReviewComment.objects.exists() and RemediationScript.objects.get().approval_status == "REQUIRED"


def test_bodies_over_the_upload_limit_are_refused_before_parsing(api: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 200_000
    evidence = [{"kind": "log", "text": "x" * 20_000}] * 20  # ~400 KB, each item valid for the schema
    response = api.post(API + "generate", rca_payload(evidence=evidence), format="json")
    assert response.status_code == 400
    assert not RemediationScript.objects.exists()


def test_schema_violations_are_400_with_the_field(api: Any) -> None:
    cases = [
        rca_payload(root_cause_category="../../etc"),
        rca_payload(target_system="windows"),
        rca_payload(confidence=7),
        rca_payload(parameters={"path": {"nested": "object"}}),
        rca_payload(anomaly_id="not-a-uuid"),
        rca_payload(summary="x" * 4001),
        ["not", "an", "object"],
    ]
    for payload in cases:
        response = api.post(API + "generate", payload, format="json")
        assert response.status_code == 400, payload
        assert response.json()["field"]
    assert not RemediationScript.objects.exists()


def test_list_filters_with_junk_values_are_not_500(api: Any) -> None:
    make_script()
    for params in (
        {"approval_status": "'; DROP TABLE x; --"},
        {"current": "maybe"},
        {"page": "999"},
        {"service": "\u202e\u0000"},
    ):
        assert api.get(API + "scripts", params).status_code in (200, 400, 404), params


# ------------------------------------------------------------------------------------------ values reaching scripts


@pytest.mark.parametrize(
    "mount_point",
    [
        "/$(reboot)",
        "/`reboot`",
        "/\nreboot",
        "/'; reboot; '",
        "/\u202egnp.x",
        "/var/\u0000x",
        "/var/*",
    ],
)
def test_hostile_rca_values_never_reach_a_script_or_an_automatic_route(
    mount_point: str, seeded_templates: None, roles: None
) -> None:
    from remediation.services.generation import script_generate
    from remediation.services.intake import request_remediation

    payload = rca_payload(
        parameters={
            "mount_point": mount_point,
            "path": "/var/cache/checkout",
            "max_age_days": 3,
            "min_free_percent": 20,
        }
    )
    try:
        script, _ = request_remediation(payload=payload, actor=SYSTEM, enqueue=False)
    except Exception:  # noqa: BLE001 - the NUL case cannot even be stored (refused with a 400)
        assert "\x00" in mount_point
        return
    script = script_generate(script_id=script.pk, no_llm=True)
    assert "reboot" not in script.generated_script and "\u202e" not in script.generated_script
    assert mount_point not in script.generated_script
    assert script.approval_status != "APPROVED"


# ------------------------------------------------------------------------------------------ escaping


def test_review_page_escapes_every_untrusted_text(make_person: Callable[..., Any]) -> None:
    supervisor = make_person("supervisor")
    rca = rca_payload(
        summary=HOSTILE_HTML,
        evidence=[{"kind": "log", "text": HOSTILE_HTML}],
        parameters={"path": HOSTILE_HTML},
        affected_components=[{"kind": "host", "name": HOSTILE_HTML, "namespace": HOSTILE_HTML}],
    )
    template = make_template(name=f"t {HOSTILE_HTML}")
    script = make_script(
        root_cause_analysis=rca,
        template=template,
        explanation=HOSTILE_HTML,
        generated_script=f"#!/usr/bin/env bash\necho '{HOSTILE_HTML}'\n",
        rollback_script=f"echo '{HOSTILE_HTML}'",
        error=HOSTILE_HTML,
        confidence_factors={"x": HOSTILE_HTML},
    )
    ValidationReport.objects.create(
        script=script,
        status="PASSED",
        strictness="HIGH",
        script_sha256=script.script_sha256,
        side_effects=[HOSTILE_HTML],
        findings=[
            {"rule_id": HOSTILE_HTML, "severity": "low", "line": 2, "message": HOSTILE_HTML, "hint": HOSTILE_HTML}
        ],
    )
    ReviewComment.objects.create(script=script, author=supervisor, body=HOSTILE_HTML, line=2)
    ReviewComment.objects.create(script=script, author=supervisor, body=HOSTILE_HTML)
    ApprovalDecision.objects.create(
        script=script,
        decision="rejected",
        actor=supervisor,
        justification=HOSTILE_HTML,
        script_sha256=script.script_sha256,
        rollback_sha256=script.rollback_sha256,
    )
    run = ExecutionRun.objects.create(
        script=script,
        environment="target",
        status="FAILED",
        error=HOSTILE_HTML,
        worker=HOSTILE_HTML,
        idempotency_key=f"{script.pk}:t:1",
        script_sha256=script.script_sha256,
    )
    ExecutionLogLine.objects.create(run=run, seq=1, stream="stderr", text=HOSTILE_HTML)
    event = record_event(
        actor=SYSTEM,
        verb="script.rejected",
        object_type="script",
        object_id=script.pk,
        after={HOSTILE_HTML: HOSTILE_HTML},
        details={"justification": HOSTILE_HTML},
    )
    client = Client()
    client.force_login(supervisor)
    pages = [
        reverse("admin:remediation_remediationscript_change", args=[script.pk]),
        reverse("admin:remediation_executionrun_change", args=[run.pk]),
        reverse("admin:remediation_auditevent_change", args=[event.pk]),
        reverse("admin:templates_app_remediationtemplate_changelist"),
        reverse("remediation:execution-live", args=[run.pk]),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert "<script>alert" not in page and "<img src=x" not in page, url
    assert "&lt;script&gt;alert" in client.get(pages[0]).content.decode()
