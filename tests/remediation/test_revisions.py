"""A supervisor's revision is a new row: validated again, approval reset, parent superseded, four-eyes kept."""

from __future__ import annotations

import json
from typing import Any

import pytest

from remediation.errors import ActionForbidden, InvalidInput, TransitionRefused
from remediation.models import ApprovalDecision, ExecutionRun, RemediationScript, ValidationReport
from remediation.services.approval import script_approve, script_reject
from remediation.services.execution import script_execute
from remediation.services.review import revision_chain, script_revise
from tests.factories import rca_payload
from tests.remediation.conftest import API, audit_of, fresh, make_script, make_template, notifications_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_notification_channels")]

SAFE_REVISION = "#!/usr/bin/env bash\nset -euo pipefail\ndf -h /\nfind /var/cache/checkout -type f -mtime +3 -print\n"
DANGEROUS_REVISION = "#!/usr/bin/env bash\nrm -rf --no-preserve-root /\n"


def _high_confidence_template_script(**fields: Any) -> Any:
    """A templated script whose revision scores HIGH (template, complete parameters, confident RCA)."""
    template = make_template()
    return make_script(
        template=template,
        root_cause_analysis=rca_payload(confidence=0.97),
        confidence_factors={"completeness": 1.0},
        confidence_level="HIGH",
        confidence_score=0.9,
        **fields,
    )


def test_a_revision_is_a_new_row_that_starts_the_workflow_again(supervisor: Any, second_supervisor: Any) -> None:
    parent = make_script(approval_status="REJECTED")

    revision = script_revise(
        script=parent,
        user=supervisor,
        generated_script=SAFE_REVISION,
        rollback_script=None,
        note="only list, do not delete",
    )

    assert revision.pk != parent.pk
    assert RemediationScript.objects.filter(fingerprint=parent.fingerprint).count() == 2
    stored_parent = fresh(parent)
    assert stored_parent.is_current_revision is False
    assert stored_parent.approval_status == "REJECTED", "the parent keeps its own history"
    stored = fresh(revision)
    assert (stored.revision, stored.parent_id, stored.revised_by_id, stored.generator) == (
        2,
        parent.pk,
        supervisor.pk,
        "revision",
    )
    assert stored.is_current_revision is True
    assert stored.generated_script == SAFE_REVISION
    # Validation ran again on the new text; approval and execution start over.
    assert stored.validation_status == "PASSED"
    (report,) = ValidationReport.objects.filter(script=revision)
    assert report.script_sha256 == stored.script_sha256
    assert (stored.approval_status, stored.execution_status) == ("REQUIRED", "PENDING")
    assert not ApprovalDecision.objects.filter(script=revision).exists()
    verbs = [e.verb for e in audit_of(revision)]
    assert verbs[:2] == ["script.revised", "script.validated"]
    assert "script.review_requested" in verbs
    revised = audit_of(revision, "script.revised")[0]
    assert revised.actor_id == supervisor.pk
    assert "+find /var/cache/checkout" in revised.details["diff"]
    assert notifications_for(revision, "script_needs_review")

    assert stored.confidence_level == "LOW"  # no template behind it: capped at LOW
    assert stored.needs_detailed_review is True
    approved = script_approve(script=stored, user=second_supervisor, justification="list only, harmless")
    assert approved.approval_status == "APPROVED"


def test_the_superseded_revision_can_no_longer_be_approved_or_executed(
    supervisor: Any, second_supervisor: Any, operator: Any, make_person: Any
) -> None:
    parent = make_script()
    script_revise(script=parent, user=supervisor, generated_script=SAFE_REVISION, rollback_script=None)

    with pytest.raises(TransitionRefused) as refused:
        script_approve(script=fresh(parent), user=second_supervisor)
    assert refused.value.code == "superseded"
    assert fresh(parent).approval_status == "REQUIRED"
    assert not ApprovalDecision.objects.filter(script=parent).exists()
    with pytest.raises(TransitionRefused):
        script_execute(script=fresh(parent), user=operator)
    with pytest.raises(TransitionRefused) as again:
        script_revise(
            script=fresh(parent), user=second_supervisor, generated_script=SAFE_REVISION, rollback_script=None
        )
    assert again.value.code == "superseded"


def test_an_approved_script_can_no_longer_be_revised(supervisor: Any, second_supervisor: Any, operator: Any) -> None:
    # Once approved, the text is bound by the approval and can no longer change.
    parent = make_script()
    script_approve(script=parent, user=second_supervisor)
    with pytest.raises(TransitionRefused) as refused:
        script_revise(script=fresh(parent), user=supervisor, generated_script=SAFE_REVISION, rollback_script=None)
    assert refused.value.code == "illegal_transition"
    assert RemediationScript.objects.filter(fingerprint=parent.fingerprint).count() == 1


def test_the_requester_of_the_original_cannot_approve_a_revision_either(
    supervisor: Any, second_supervisor: Any
) -> None:
    parent = make_script(requested_by=second_supervisor)
    revision = script_revise(script=parent, user=supervisor, generated_script=SAFE_REVISION, rollback_script=None)
    assert fresh(revision).requested_by_id == second_supervisor.pk
    with pytest.raises(ActionForbidden) as forbidden:
        script_approve(script=fresh(revision), user=second_supervisor, justification="someone else revised it")
    assert forbidden.value.code == "four_eyes"


def test_the_reviser_cannot_approve_their_own_revision(supervisor: Any, client_for: Any) -> None:
    revision = script_revise(
        script=make_script(), user=supervisor, generated_script=SAFE_REVISION, rollback_script=None
    )
    with pytest.raises(ActionForbidden) as forbidden:
        script_approve(script=revision, user=supervisor, justification="I wrote it, so I know")
    assert forbidden.value.code == "four_eyes"
    response = client_for(supervisor).post(
        f"{API}scripts/{revision.pk}/approve", data=json.dumps({"justification": "x"}), content_type="application/json"
    )
    assert response.status_code == 403
    assert fresh(revision).approval_status == "REQUIRED"


def test_a_high_scoring_revision_is_never_approved_by_policy(supervisor: Any, second_supervisor: Any) -> None:
    parent = _high_confidence_template_script()
    revision = script_revise(script=parent, user=supervisor, generated_script=SAFE_REVISION, rollback_script=None)
    stored = fresh(revision)
    assert stored.confidence_level == "HIGH", "the precondition: this revision scores HIGH"
    assert (stored.approval_status, stored.execution_status) == ("REQUIRED", "PENDING")
    assert not ApprovalDecision.objects.filter(script=revision, actor_kind="policy").exists()
    assert audit_of(revision, "script.approved") == []


def test_a_dangerous_revision_fails_validation_and_cannot_be_approved(supervisor: Any, second_supervisor: Any) -> None:
    revision = script_revise(
        script=make_script(), user=supervisor, generated_script=DANGEROUS_REVISION, rollback_script=None
    )
    stored = fresh(revision)
    assert stored.validation_status == "FAILED"
    assert stored.confidence_level == "LOW"
    assert stored.needs_detailed_review is True
    assert notifications_for(revision, "unsafe_script_detected")
    with pytest.raises(TransitionRefused) as refused:
        script_approve(script=stored, user=second_supervisor, justification="trust me")
    assert refused.value.code == "validation_not_passed"


def test_quorum_approvals_on_the_parent_do_not_carry_over(
    settings: Any, supervisor: Any, second_supervisor: Any, make_person: Any
) -> None:
    settings.LOW_CONFIDENCE_QUORUM = 2
    parent = make_script(confidence_level="LOW", confidence_score=0.3)
    script_approve(script=parent, user=supervisor, justification="half way")
    third = make_person("supervisor", username="tia-supervisor")
    revision = script_revise(script=fresh(parent), user=third, generated_script=SAFE_REVISION, rollback_script=None)
    assert fresh(revision).confidence_level == "LOW"  # no template: capped at LOW
    result = script_approve(script=fresh(revision), user=second_supervisor, justification="fine")
    assert result.approval_status == "REQUIRED", "one approval of the new text is not a quorum"
    assert script_approve(script=fresh(revision), user=supervisor, justification="fine").approval_status == "APPROVED"


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_only_supervisors_revise(role: str, make_person: Any) -> None:
    parent = make_script()
    with pytest.raises(ActionForbidden):
        script_revise(
            script=parent,
            user=make_person(role, username=f"x-{role}"),
            generated_script=SAFE_REVISION,
            rollback_script=None,
        )
    assert fresh(parent).is_current_revision is True


def test_an_agent_cannot_revise(agent_user: Any, agent_client: Any) -> None:
    parent = make_script()
    with pytest.raises(ActionForbidden):
        script_revise(script=parent, user=agent_user, generated_script=SAFE_REVISION, rollback_script=None)
    response = agent_client.post(
        f"{API}scripts/{parent.pk}/revise",
        data=json.dumps({"generated_script": SAFE_REVISION}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert fresh(parent).is_current_revision is True


def test_an_empty_revision_is_invalid(supervisor: Any) -> None:
    with pytest.raises(InvalidInput):
        script_revise(script=make_script(), user=supervisor, generated_script="  \n", rollback_script=None)


def test_revision_chain_and_diff_through_the_api(supervisor: Any, second_supervisor: Any, client_for: Any) -> None:
    first = make_script()
    client = client_for(supervisor)
    response = client.post(
        f"{API}scripts/{first.pk}/revise",
        data=json.dumps({"generated_script": SAFE_REVISION, "note": "list only"}),
        content_type="application/json",
    )
    assert response.status_code == 201
    second = RemediationScript.objects.get(pk=response.json()["id"])
    script_reject(script=second, user=second_supervisor, justification="still too broad")
    third = script_revise(
        script=second, user=second_supervisor, generated_script=SAFE_REVISION + "du -sh /var\n", rollback_script=None
    )

    assert [s.revision for s in revision_chain(third)] == [1, 2, 3]
    chain = client.get(f"{API}scripts/{second.pk}/revisions").json()
    assert [item["revision"] for item in chain] == [1, 2, 3]
    assert [item["is_current_revision"] for item in chain] == [False, False, True]
    diff = client.get(f"{API}scripts/{third.pk}/diff").json()
    assert diff["from"] == str(second.pk)
    assert "+du -sh /var" in diff["diff"]
    assert not ExecutionRun.objects.exists()


def test_revising_a_script_of_another_service_is_forbidden(make_person: Any) -> None:
    outsider = make_person("supervisor", ("payments",), username="pat-payments")
    with pytest.raises(ActionForbidden) as forbidden:
        script_revise(
            script=make_script(service="checkout-api"),
            user=outsider,
            generated_script=SAFE_REVISION,
            rollback_script=None,
        )
    assert forbidden.value.code == "service_scope"
