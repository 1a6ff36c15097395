"""Security review: privilege, mass assignment, four-eyes and the approval binding.

Operators, viewers and agents must not approve, reject, revise, release templates, decide proposals
or edit budgets by any path (API bodies with extra fields, admin actions, admin forms); the
four-eyes rules and the SHA-256 binding of an approval must hold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from remediation.access import scripts_visible_to, service_scope
from remediation.models import (
    ApprovalDecision,
    AuditEvent,
    ExecutionRun,
    RemediationScript,
    ReviewComment,
    ServiceBudget,
)
from templates_app.models import RemediationTemplate, TemplateProposal
from tests.factories import ScriptFactory, TemplateFactory, rca_payload, record_policy_approval

pytestmark = pytest.mark.django_db


def make_script(**fields: Any) -> RemediationScript:
    return cast("RemediationScript", ScriptFactory(**fields))


def make_template(**fields: Any) -> RemediationTemplate:
    return cast("RemediationTemplate", TemplateFactory(**fields))


API = "/api/generative-remediation/"
TEXT = "#!/usr/bin/env bash\nset -euo pipefail\ndf -h /\n"


def fresh(script: RemediationScript) -> RemediationScript:
    return RemediationScript.objects.get(pk=script.pk)


def logged_in(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def approve_as_policy(script: RemediationScript) -> None:
    RemediationScript.objects.filter(pk=script.pk).update(approval_status="APPROVED", approved_at=timezone.now())
    record_policy_approval(script)


# ------------------------------------------------------------------------------------------ roles in the API


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_non_supervisors_cannot_decide_or_revise_through_the_api(
    role: str, make_person: Callable[..., Any], client_for: Callable[[Any], Any]
) -> None:
    script = make_script()
    client = client_for(make_person(role))
    for action, body in (
        ("approve", {"justification": "ok"}),
        ("reject", {"justification": "no"}),
        ("revise", {"generated_script": TEXT + "echo x\n"}),
    ):
        assert client.post(API + f"scripts/{script.pk}/{action}", body, format="json").status_code == 403, action
    assert (fresh(script).approval_status, fresh(script).is_current_revision) == ("REQUIRED", True)
    assert not ApprovalDecision.objects.exists()


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_non_supervisors_cannot_touch_templates_or_proposals(
    role: str, make_person: Callable[..., Any], client_for: Callable[[Any], Any]
) -> None:
    template = make_template(is_quarantined=True, quarantine_reason="failing")
    proposal = TemplateProposal.objects.create(
        root_cause_category="disk_full",
        script_language="bash",
        target_system="linux",
        proposed_content=TEXT,
        proposed_variables=[],
    )
    client = client_for(make_person(role))
    body = {
        "name": "evil",
        "root_cause_category": "disk_full",
        "script_language": "bash",
        "target_systems": ["linux"],
        "template_content": TEXT,
    }
    assert client.post(API + "templates", body, format="json").status_code == 403
    assert client.put(API + f"templates/{template.pk}", body, format="json").status_code == 403
    assert client.delete(API + f"templates/{template.pk}").status_code == 403
    assert (
        client.post(API + f"templates/{template.pk}/release", {"justification": "x"}, format="json").status_code == 403
    )
    assert (
        client.post(API + f"template-proposals/{proposal.pk}/accept", {"name": "p"}, format="json").status_code == 403
    )
    assert (
        client.post(
            API + f"template-proposals/{proposal.pk}/dismiss", {"justification": "x"}, format="json"
        ).status_code
        == 403
    )
    template.refresh_from_db()
    proposal.refresh_from_db()
    assert template.is_quarantined and template.is_active and template.template_content == TEXT
    assert proposal.status == "open" and RemediationTemplate.objects.count() == 1


# ------------------------------------------------------------------------------------------ mass assignment


def test_generate_ignores_status_text_and_owner_fields_in_the_body(
    make_person: Callable[..., Any], client_for: Callable[[Any], Any]
) -> None:
    operator = make_person("operator")
    supervisor = make_person("supervisor")
    payload = rca_payload(
        approval_status="APPROVED",
        validation_status="PASSED",
        execution_status="QUEUED",
        generated_script="rm -rf /",
        rollback_script="rm -rf /",
        generator="revision",
        confidence_level="HIGH",
        requested_by=supervisor.pk,
        revised_by=supervisor.pk,
        is_current_revision=False,
        id="00000000-0000-0000-0000-000000000001",
    )
    response = client_for(operator).post(API + "generate", payload, format="json")
    assert response.status_code == 202
    script = RemediationScript.objects.get()
    assert (script.approval_status, script.validation_status, script.execution_status) == (
        "REQUIRED",
        "PENDING",
        "PENDING",
    )
    assert script.generated_script == "" and script.rollback_script is None and script.generator == "none"
    assert script.requested_by == operator and script.revised_by is None and script.is_current_revision
    assert str(script.pk) != payload["id"]


def test_comment_body_cannot_choose_its_author_or_script(
    make_person: Callable[..., Any], client_for: Callable[[Any], Any]
) -> None:
    operator = make_person("operator")
    supervisor = make_person("supervisor")
    target, other = make_script(), make_script()
    response = client_for(operator).post(
        API + f"scripts/{target.pk}/comments",
        {"body": "note", "author": supervisor.username, "script": str(other.pk), "created_at": "2000-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 201
    comment = ReviewComment.objects.get()
    assert (comment.author, comment.script_id) == (operator, target.pk)
    assert comment.created_at.year > 2000


def test_approve_body_cannot_name_another_actor_or_force_a_status(
    make_person: Callable[..., Any], client_for: Callable[[Any], Any]
) -> None:
    approver = make_person("supervisor")
    other = make_person("supervisor")
    script = make_script()
    client_for(approver).post(
        API + f"scripts/{script.pk}/approve",
        {"justification": "ok", "actor": other.pk, "script_sha256": "0" * 64},
        format="json",
    )
    decision = ApprovalDecision.objects.get()
    assert decision.actor == approver and decision.script_sha256 == script.script_sha256


def test_template_edit_cannot_unquarantine_or_forge_statistics(
    make_person: Callable[..., Any], client_for: Callable[[Any], Any]
) -> None:
    template = make_template(is_quarantined=True, quarantine_reason="3 failures", failure_count=3)
    body = {
        "name": template.name,
        "root_cause_category": "disk_full",
        "script_language": "bash",
        "target_systems": ["linux"],
        "template_content": TEXT,
        "is_quarantined": False,
        "success_count": 1000,
        "failure_count": 0,
        "source": "seed",
        "version": 1,
        "quarantine_reason": "",
    }
    assert (
        client_for(make_person("supervisor")).put(API + f"templates/{template.pk}", body, format="json").status_code
        == 200
    )
    template.refresh_from_db()
    assert template.is_quarantined and template.success_count == 0 and template.failure_count == 3
    assert template.quarantine_reason == "3 failures"


# ------------------------------------------------------------------------------------------ four-eyes


def test_requester_cannot_approve_their_own_request(
    make_person: Callable[..., Any], client_for: Callable[[Any], Any]
) -> None:
    requester = make_person("supervisor")
    client = client_for(requester)
    script_id = client.post(API + "generate", rca_payload(), format="json").json()["id"]
    # What generation would have produced: a PASSED MEDIUM script awaiting approval.
    RemediationScript.objects.filter(pk=script_id).update(
        generated_script=TEXT, script_language="bash", validation_status="PASSED", confidence_level="MEDIUM"
    )
    response = client.post(API + f"scripts/{script_id}/approve", {"justification": "mine"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "four_eyes"
    assert RemediationScript.objects.get(pk=script_id).approval_status == "REQUIRED"


def test_revision_author_cannot_approve_their_revision_but_another_supervisor_can(
    make_person: Callable[..., Any], client_for: Callable[[Any], Any]
) -> None:
    author, reviewer = make_person("supervisor"), make_person("supervisor")
    script = make_script()
    revised = client_for(author).post(
        API + f"scripts/{script.pk}/revise", {"generated_script": TEXT + "du -sh /var/cache\n"}, format="json"
    )
    assert revised.status_code == 201
    revision = RemediationScript.objects.get(pk=revised.json()["id"])
    assert revision.validation_status == "PASSED" and revision.approval_status == "REQUIRED"
    refused = client_for(author).post(API + f"scripts/{revision.pk}/approve", {"justification": "ok"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "four_eyes"
    # The admin button goes through the same service.
    logged_in(author).post(
        reverse("admin:remediation_remediationscript_review", args=[revision.pk, "approve"]), {"justification": "ok"}
    )
    assert fresh(revision).approval_status == "REQUIRED"
    accepted = client_for(reviewer).post(API + f"scripts/{revision.pk}/approve", {"justification": "ok"}, format="json")
    assert accepted.status_code == 200 and fresh(revision).approval_status == "APPROVED"


def test_one_supervisor_cannot_fill_a_low_confidence_quorum_alone(
    settings: Any, make_person: Callable[..., Any], client_for: Callable[[Any], Any]
) -> None:
    settings.LOW_CONFIDENCE_QUORUM = 2
    script = make_script(confidence_level="LOW", confidence_score=0.3)
    client = client_for(make_person("supervisor"))
    assert client.post(API + f"scripts/{script.pk}/approve", {"justification": "1"}, format="json").status_code == 200
    assert client.post(API + f"scripts/{script.pk}/approve", {"justification": "2"}, format="json").status_code == 409
    assert fresh(script).approval_status == "REQUIRED"


# ------------------------------------------------------------------------------------------ approval binding


def test_approved_script_cannot_be_revised_and_changed_text_does_not_run(
    make_person: Callable[..., Any], client_for: Callable[[Any], Any]
) -> None:
    script = make_script(rollback_script="#!/usr/bin/env bash\necho undo\n")
    approve_as_policy(script)
    supervisor, operator = make_person("supervisor"), make_person("operator")
    revise = client_for(supervisor).post(
        API + f"scripts/{script.pk}/revise", {"generated_script": TEXT, "rollback_script": "rm -rf /"}, format="json"
    )
    assert revise.status_code == 409
    # Whatever edits the row behind the services' back (a shell, a bad migration): the rollback text counts too.
    RemediationScript.objects.filter(pk=script.pk).update(rollback_script="#!/usr/bin/env bash\nrm -rf /srv\n")
    response = client_for(operator).post(API + f"scripts/{script.pk}/execute", {}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "approval_binding"
    assert fresh(script).execution_status == "PENDING"


def test_rollback_runs_only_the_approved_rollback_text(monkeypatch: pytest.MonkeyPatch) -> None:
    from remediation.services import rollback, target_runners
    from remediation.services.execution import StageOutcome

    script = make_script(rollback_script="#!/usr/bin/env bash\necho undo\n")
    approve_as_policy(script)
    RemediationScript.objects.filter(pk=script.pk).update(execution_status="FAILED")
    run = ExecutionRun.objects.create(
        script=script,
        environment="target",
        status="FAILED",
        exit_code=1,
        idempotency_key=f"{script.pk}:target:1",
        script_sha256=script.script_sha256,
    )
    RemediationScript.objects.filter(pk=script.pk).update(rollback_script="#!/usr/bin/env bash\necho EVIL\n")
    ran: list[str] = []

    def fake_sandbox_stage(*, dry_run: bool, text_of: Any = None) -> Any:
        def runner(script: RemediationScript, run: ExecutionRun, log: Any) -> StageOutcome:
            ran.append(text_of(script) if text_of else script.generated_script)
            return StageOutcome(status="SUCCESS", exit_code=0)

        return runner

    monkeypatch.setattr(target_runners, "sandbox_stage", fake_sandbox_stage)
    rollback.rollback_perform(run_id=run.pk, worker="test")
    assert not any("EVIL" in text for text in ran)


# ------------------------------------------------------------------------------------------ the admin


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_admin_review_actions_respect_roles(role: str, make_person: Callable[..., Any]) -> None:
    script = make_script()
    client = logged_in(make_person(role))
    for action, data in (
        ("approve", {"justification": "ok"}),
        ("reject", {"justification": "no"}),
        ("revise", {"generated_script": TEXT + "echo x\n"}),
    ):
        client.post(reverse("admin:remediation_remediationscript_review", args=[script.pk, action]), data)
    if role == "viewer":
        for action, data in (("comment", {"body": "x"}), ("execute", {})):
            client.post(reverse("admin:remediation_remediationscript_review", args=[script.pk, action]), data)
        assert not ReviewComment.objects.exists()
    assert (fresh(script).approval_status, fresh(script).is_current_revision) == ("REQUIRED", True)
    assert not ApprovalDecision.objects.exists()


def test_admin_plain_change_form_cannot_edit_a_script(make_person: Callable[..., Any]) -> None:
    script = make_script()
    response = logged_in(make_person("supervisor")).post(
        reverse("admin:remediation_remediationscript_change", args=[script.pk]),
        {"service": "other", "root_cause_category": "evil", "approval_status": "APPROVED"},
    )
    assert response.status_code in (302, 403)
    assert (fresh(script).service, fresh(script).approval_status) == ("checkout-api", "REQUIRED")


def test_admin_audit_events_cannot_be_changed_or_deleted(make_person: Callable[..., Any]) -> None:
    from remediation.lifecycle import SYSTEM, record_event

    event = record_event(actor=SYSTEM, verb="script.approved", object_type="script", object_id="x")
    client = logged_in(make_person("supervisor", is_superuser=True))
    client.post(reverse("admin:remediation_auditevent_change", args=[event.pk]), {"verb": "nothing"})
    client.post(reverse("admin:remediation_auditevent_delete", args=[event.pk]), {"post": "yes"})
    event.refresh_from_db()
    assert event.verb == "script.approved"


def test_admin_budget_edits_are_supervisor_only(make_person: Callable[..., Any]) -> None:
    budget = ServiceBudget.objects.create(service="checkout-api", time_limit_seconds=60)
    client = logged_in(make_person("operator"))
    assert (
        client.post(
            reverse("admin:remediation_servicebudget_change", args=[budget.pk]),
            budget_form(budget, time_limit_seconds=99999),
        ).status_code
        == 403
    )
    assert (
        client.post(reverse("admin:remediation_servicebudget_add"), budget_form(budget, service="new")).status_code
        == 403
    )
    budget.refresh_from_db()
    assert budget.time_limit_seconds == 60 and not ServiceBudget.objects.filter(service="new").exists()


def budget_form(budget: ServiceBudget, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "service": budget.service,
        "cpu_millicores": budget.cpu_millicores,
        "memory_limit_mb": budget.memory_limit_mb,
        "time_limit_seconds": budget.time_limit_seconds,
        "max_container_memory_mb": "",
        "allowed_target_systems": "",
        "allowed_namespaces": "",
        "allowed_databases": "",
        "allowed_paths": "",
        "allowed_hosts": "",
        "target_database_url_env": budget.target_database_url_env,
    }
    if budget.auto_execute:
        data["auto_execute"] = "on"
    data.update(changes)
    return data


def test_scoped_supervisor_cannot_move_their_scope_by_renaming_a_budget(make_person: Callable[..., Any]) -> None:
    supervisor = make_person("supervisor", services=("checkout-api",))
    foreign = make_script(service="billing")
    budget = ServiceBudget.objects.get(service="checkout-api")
    logged_in(supervisor).post(
        reverse("admin:remediation_servicebudget_change", args=[budget.pk]), budget_form(budget, service="billing")
    )
    assert service_scope(supervisor) == {"checkout-api"}
    assert not scripts_visible_to(supervisor).filter(pk=foreign.pk).exists()


def test_scoped_supervisor_cannot_create_another_services_budget(make_person: Callable[..., Any]) -> None:
    supervisor = make_person("supervisor", services=("checkout-api",))
    template = ServiceBudget(service="billing")
    logged_in(supervisor).post(
        reverse("admin:remediation_servicebudget_add"),
        budget_form(template, auto_execute="on", time_limit_seconds=3000),
    )
    assert not ServiceBudget.objects.filter(service="billing").exists()


def test_admin_rollback_action_and_template_release_respect_roles(make_person: Callable[..., Any]) -> None:
    script = make_script(
        rollback_script="#!/usr/bin/env bash\necho undo\n", execution_status="FAILED", approval_status="APPROVED"
    )
    run = ExecutionRun.objects.create(
        script=script,
        environment="target",
        status="FAILED",
        exit_code=1,
        idempotency_key=f"{script.pk}:target:1",
        script_sha256=script.script_sha256,
    )
    logged_in(make_person("viewer")).post(
        reverse("admin:remediation_executionrun_changelist"), {"action": "roll_back", "_selected_action": [str(run.pk)]}
    )
    assert not AuditEvent.objects.filter(verb="rollback.requested").exists()
    # The same form from an operator does queue it (the request above was well-formed).
    logged_in(make_person("operator")).post(
        reverse("admin:remediation_executionrun_changelist"), {"action": "roll_back", "_selected_action": [str(run.pk)]}
    )
    assert AuditEvent.objects.filter(verb="rollback.requested").count() == 1
    template = make_template(is_quarantined=True, quarantine_reason="failing")
    release = {
        "action": "release_from_quarantine",
        "_selected_action": [str(template.pk)],
        "confirm": "1",
        "justification": "trust me",
    }
    logged_in(make_person("operator")).post(reverse("admin:templates_app_remediationtemplate_changelist"), release)
    template.refresh_from_db()
    assert template.is_quarantined
    logged_in(make_person("supervisor")).post(reverse("admin:templates_app_remediationtemplate_changelist"), release)
    template.refresh_from_db()
    assert not template.is_quarantined


def test_session_requests_need_a_csrf_token(make_person: Callable[..., Any]) -> None:
    script = make_script()
    supervisor = make_person("supervisor")
    client = logged_in(supervisor, enforce_csrf_checks=True)
    admin_action = client.post(
        reverse("admin:remediation_remediationscript_review", args=[script.pk, "reject"]), {"justification": "csrf"}
    )
    api = client.post(API + f"scripts/{script.pk}/reject", {"justification": "csrf"}, content_type="application/json")
    assert admin_action.status_code == 403 and api.status_code == 403
    assert fresh(script).approval_status == "REQUIRED"
