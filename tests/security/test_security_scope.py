"""Security review: object access across services (IDOR) through the API, the pages and the admin.

The attacker holds a valid account scoped to "billing"; the victim's remediation belongs to
"checkout-api". Every read or action on the victim's objects must answer as if they did not exist
(404 in the API and the pages, "does not exist" in the admin), and nothing may change.
Every hole this review found is fixed; its test now guards the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest
from django.test import Client
from django.urls import reverse

from remediation.lifecycle import Actor, record_event
from remediation.models import (
    Anomaly,
    ApprovalDecision,
    AuditEvent,
    ExecutionLogLine,
    ExecutionRun,
    NotificationRecord,
    RemediationScript,
    ReviewComment,
    ServiceBudget,
)
from remediation.services.intake import rca_fingerprint
from remediation.services.notify import notify_execution_failed
from tests.factories import AnomalyFactory, ScriptFactory, rca_payload

pytestmark = pytest.mark.django_db


def make_script(**fields: Any) -> RemediationScript:
    return cast("RemediationScript", ScriptFactory(**fields))


def make_anomaly(**fields: Any) -> Anomaly:
    return cast("Anomaly", AnomalyFactory(**fields))


API = "/api/generative-remediation/"
VICTIM = "checkout-api"
ATTACKER = "billing"
SECRET_TEXT = "victim-only-text-7f3a"


@pytest.fixture
def victim(make_person: Callable[..., Any]) -> dict[str, Any]:
    """A checkout-api remediation with a run, log lines, a comment and audit events."""
    owner = make_person("supervisor", services=(VICTIM,), username="checkout-owner")
    script = make_script(
        service=VICTIM,
        generated_script=f"#!/usr/bin/env bash\nset -euo pipefail\necho {SECRET_TEXT}\n",
        rollback_script="#!/usr/bin/env bash\necho undo\n",
    )
    run = ExecutionRun.objects.create(
        script=script,
        environment="target",
        status="SUCCESS",
        exit_code=0,
        idempotency_key=f"{script.pk}:target:1",
        script_sha256=script.script_sha256,
        log=f"line with {SECRET_TEXT}",
    )
    ExecutionLogLine.objects.create(run=run, seq=1, stream="stdout", text=f"out {SECRET_TEXT}")
    ReviewComment.objects.create(script=script, author=owner, body=f"comment {SECRET_TEXT}")
    record_event(
        actor=Actor.of(owner),
        verb="script.revised",
        object_type="script",
        object_id=script.pk,
        details={"diff": f"+echo {SECRET_TEXT}"},
    )
    return {"script": script, "run": run, "owner": owner}


@pytest.fixture
def attacker(make_person: Callable[..., Any]) -> Callable[[str], Any]:
    def make(role: str) -> Any:
        return make_person(role, services=(ATTACKER,), username=f"billing-{role}")

    return make


SCRIPT_ENDPOINTS = [
    ("get", "scripts/{script}", None),
    ("get", "scripts/{script}/revisions", None),
    ("get", "scripts/{script}/diff", None),
    ("get", "scripts/{script}/comments", None),
    ("get", "scripts/{script}/audit", None),
    ("get", "scripts/{script}/runs", None),
    ("get", "runs/{run}", None),
    ("post", "scripts/{script}/validate", {}),
    ("post", "scripts/{script}/approve", {"justification": "looks fine"}),
    ("post", "scripts/{script}/reject", {"justification": "no"}),
    ("post", "scripts/{script}/execute", {}),
    ("post", "scripts/{script}/revise", {"generated_script": "#!/usr/bin/env bash\necho pwned\n"}),
    ("post", "scripts/{script}/comments", {"body": "hi"}),
    ("post", "runs/{run}/rollback", {}),
]


@pytest.mark.parametrize("role", ["supervisor", "operator", "viewer"])
def test_every_script_and_run_endpoint_hides_another_services_objects(
    role: str, victim: dict[str, Any], attacker: Callable[[str], Any], client_for: Callable[[Any], Any]
) -> None:
    client = client_for(attacker(role))
    before_events = AuditEvent.objects.count()
    for method, template, body in SCRIPT_ENDPOINTS:
        url = API + template.format(script=victim["script"].pk, run=victim["run"].pk)
        response = getattr(client, method)(url, body, format="json") if body is not None else client.get(url)
        # Viewers are stopped by role first (403) on actions; what matters is: never 2xx, never the text.
        assert response.status_code in (403, 404), (method, template, response.status_code)
        assert SECRET_TEXT not in response.content.decode(), (method, template)
    script = RemediationScript.objects.get(pk=victim["script"].pk)
    assert (script.approval_status, script.execution_status, script.is_current_revision) == (
        "REQUIRED",
        "PENDING",
        True,
    )
    assert ReviewComment.objects.filter(script=script).count() == 1
    assert AuditEvent.objects.count() == before_events


def test_script_list_and_service_filter_never_show_another_service(
    victim: dict[str, Any], attacker: Callable[[str], Any], client_for: Callable[[Any], Any]
) -> None:
    own = make_script(service=ATTACKER)
    client = client_for(attacker("viewer"))
    listed = client.get(API + "scripts").json()["results"]
    assert [item["id"] for item in listed] == [str(own.pk)]
    assert client.get(API + "scripts", {"service": VICTIM}).json()["count"] == 0


def test_diff_from_parameter_cannot_pull_another_services_revision(
    victim: dict[str, Any], attacker: Callable[[str], Any], client_for: Callable[[Any], Any]
) -> None:
    """Even with the fingerprint forged equal, ?from=<victim> is looked up in the caller's scope."""
    own = make_script(service=ATTACKER, fingerprint=victim["script"].fingerprint)
    response = client_for(attacker("supervisor")).get(
        API + f"scripts/{own.pk}/diff", {"from": str(victim["script"].pk)}
    )
    assert response.status_code == 404
    assert SECRET_TEXT not in response.content.decode()


def test_generate_for_a_service_outside_the_scope_is_refused(
    attacker: Callable[[str], Any], client_for: Callable[[Any], Any]
) -> None:
    client = client_for(attacker("operator"))
    for service in (VICTIM, "Billing", "billing ", "billing\u200b", "b\u0456lling"):  # case, space, ZWSP, homoglyph
        response = client.post(API + "generate", rca_payload(service=service), format="json")
        assert response.status_code == 403, service
    assert not RemediationScript.objects.exists()


def test_scoped_caller_cannot_escape_scope_by_omitting_the_service(
    attacker: Callable[[str], Any], client_for: Callable[[Any], Any]
) -> None:
    payload = rca_payload()
    del payload["service"]
    response = client_for(attacker("operator")).post(API + "generate", payload, format="json")
    assert response.status_code == 403
    assert not RemediationScript.objects.exists()


def test_dedup_does_not_hand_out_a_script_outside_the_callers_scope(
    attacker: Callable[[str], Any], client_for: Callable[[Any], Any]
) -> None:
    payload = rca_payload()
    del payload["service"]
    hidden = make_script(
        service="", fingerprint=rca_fingerprint(payload), generated_script=f"#!/usr/bin/env bash\necho {SECRET_TEXT}\n"
    )
    operator = attacker("operator")
    client = client_for(operator)
    assert client.get(API + f"scripts/{hidden.pk}").status_code == 404  # invisible to the caller...
    response = client.post(API + "generate", payload, format="json")
    assert SECRET_TEXT not in response.content.decode()  # ...so its text must not come back here either


def test_rca_cannot_attach_to_another_services_anomaly(
    attacker: Callable[[str], Any], client_for: Callable[[Any], Any]
) -> None:
    foreign = make_anomaly(service=VICTIM)
    response = client_for(attacker("operator")).post(
        API + "generate", rca_payload(service=ATTACKER, anomaly_id=str(foreign.pk)), format="json"
    )
    assert response.status_code in (202, 400, 403)
    assert not RemediationScript.objects.filter(anomaly=foreign).exists()


def test_live_page_and_lines_feed_hide_another_services_run(
    victim: dict[str, Any], attacker: Callable[[str], Any]
) -> None:
    client = Client()
    client.force_login(attacker("operator"))
    for name in ("remediation:execution-live", "remediation:execution-lines"):
        response = client.get(reverse(name, args=[victim["run"].pk]))
        assert response.status_code == 404, name
        assert SECRET_TEXT not in response.content.decode()


def test_live_feed_refuses_a_logged_in_person_without_a_role(victim: dict[str, Any], make_person: Any) -> None:
    from django.contrib.auth.models import User

    nobody = User.objects.create_user("no-role", password="x", is_staff=True)
    client = Client()
    client.force_login(nobody)
    assert client.get(reverse("remediation:execution-lines", args=[victim["run"].pk])).status_code == 404


# ----------------------------------------------------------------------------------------------- admin


def admin_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_admin_review_page_and_actions_hide_another_services_script(
    victim: dict[str, Any], attacker: Callable[[str], Any]
) -> None:
    client = admin_client(attacker("supervisor"))
    script = victim["script"]
    changelist = client.get(reverse("admin:remediation_remediationscript_changelist"))
    assert changelist.status_code == 200 and str(script.pk)[:8] not in changelist.content.decode()
    page = client.get(reverse("admin:remediation_remediationscript_change", args=[script.pk]))
    assert page.status_code in (302, 404) and SECRET_TEXT not in page.content.decode()
    for action, data in (
        ("approve", {"justification": "ok"}),
        ("reject", {"justification": "no"}),
        ("comment", {"body": "x"}),
        ("execute", {}),
        ("revise", {"generated_script": "#!/usr/bin/env bash\necho pwned\n"}),
    ):
        client.post(reverse("admin:remediation_remediationscript_review", args=[script.pk, action]), data)
    script.refresh_from_db()
    assert (script.approval_status, script.execution_status, script.is_current_revision) == (
        "REQUIRED",
        "PENDING",
        True,
    )
    assert not ApprovalDecision.objects.filter(script=script).exists()
    assert ReviewComment.objects.filter(script=script).count() == 1


def test_admin_run_anomaly_and_budget_pages_hide_another_service(
    victim: dict[str, Any], attacker: Callable[[str], Any]
) -> None:
    client = admin_client(attacker("supervisor"))
    run_page = client.get(reverse("admin:remediation_executionrun_change", args=[victim["run"].pk]))
    assert run_page.status_code in (302, 404) and SECRET_TEXT not in run_page.content.decode()
    anomaly_page = client.get(reverse("admin:remediation_anomaly_change", args=[victim["script"].anomaly_id]))
    assert anomaly_page.status_code in (302, 404)
    budget = ServiceBudget.objects.get(service=VICTIM)
    budget_page = client.get(reverse("admin:remediation_servicebudget_change", args=[budget.pk]))
    assert budget_page.status_code in (302, 404)
    client.post(
        reverse("admin:remediation_servicebudget_change", args=[budget.pk]),
        {"service": VICTIM, "time_limit_seconds": 9999, "memory_limit_mb": 99999, "cpu_millicores": 9999},
    )
    budget.refresh_from_db()
    assert budget.time_limit_seconds != 9999


def test_admin_audit_list_hides_another_services_events(victim: dict[str, Any], attacker: Callable[[str], Any]) -> None:
    client = admin_client(attacker("viewer"))
    event = AuditEvent.objects.get(verb="script.revised", object_id=str(victim["script"].pk))
    changelist = client.get(reverse("admin:remediation_auditevent_changelist"), {"q": str(victim["script"].pk)})
    detail = client.get(reverse("admin:remediation_auditevent_change", args=[event.pk]))
    # The search box echoes the query, so look for the event's row (its change link), not the id.
    assert reverse("admin:remediation_auditevent_change", args=[event.pk]) not in changelist.content.decode()
    assert SECRET_TEXT not in detail.content.decode()


def test_audit_api_only_lists_the_requested_scripts_trail(
    victim: dict[str, Any], attacker: Callable[[str], Any], client_for: Callable[[Any], Any]
) -> None:
    """The API's audit endpoint is safe: it filters by the (scoped) script's revisions and runs."""
    own = make_script(service=ATTACKER)
    events = client_for(attacker("viewer")).get(API + f"scripts/{own.pk}/audit").json()
    assert all(e["object_id"] != str(victim["script"].pk) for e in events)


def test_admin_notification_list_hides_another_services_notifications(
    victim: dict[str, Any], attacker: Callable[[str], Any]
) -> None:
    notify_execution_failed(victim["script"], f"Target run failed: {SECRET_TEXT}")
    record = NotificationRecord.objects.get(object_id=str(victim["script"].pk))
    client = admin_client(attacker("viewer"))
    detail = client.get(reverse("admin:remediation_notificationrecord_change", args=[record.pk]))
    assert SECRET_TEXT not in detail.content.decode()


def test_template_proposals_from_another_service_are_not_listed(
    victim: dict[str, Any], attacker: Callable[[str], Any], client_for: Callable[[Any], Any]
) -> None:
    from templates_app.models import TemplateProposal

    TemplateProposal.objects.create(
        root_cause_category="disk_full",
        script_language="bash",
        target_system="linux",
        proposed_content=victim["script"].generated_script,
        proposed_variables=[],
        source_script=victim["script"],
        success_count=3,
    )
    response = client_for(attacker("viewer")).get(API + "template-proposals")
    assert response.status_code == 200
    assert SECRET_TEXT not in response.content.decode()
