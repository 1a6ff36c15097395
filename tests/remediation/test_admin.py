"""The admin review surface: pages render in bounded queries, buttons call the services, roles hold."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from remediation.lifecycle import SYSTEM, record_event
from remediation.models import (
    ApprovalDecision,
    AuditEvent,
    ExecutionLogLine,
    ExecutionRun,
    RemediationScript,
    ReviewComment,
    ServiceBudget,
    ValidationReport,
)
from templates_app.models import RemediationTemplate, TemplateVersion
from tests.factories import ScriptFactory, TemplateFactory, rca_payload

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script>"
SCRIPT_TEXT = "#!/usr/bin/env bash\nset -euo pipefail\nrm -rf /var/cache/checkout/tmp\ndf -h /\n"


def review_url(script: RemediationScript) -> str:
    return reverse("admin:remediation_remediationscript_change", args=[script.pk])


def action_url(script: RemediationScript, action: str) -> str:
    return reverse("admin:remediation_remediationscript_review", args=[script.pk, action])


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def add_review_material(script: RemediationScript, author: Any, *, count: int) -> None:
    """Findings, comments, runs with log lines and decisions: the things a review page lists."""
    ValidationReport.objects.create(
        script=script,
        status="PASSED",
        strictness="HIGH",
        script_sha256=script.script_sha256,
        findings=[
            {
                "rule_id": f"bash.rule_{n}",
                "severity": "low",
                "line": 3,
                "message": f"finding number {n}",
                "hint": "check the path",
            }
            for n in range(count)
        ],
        side_effects=["deletes files under /var/cache/checkout"],
    )
    for n in range(count):
        ReviewComment.objects.create(script=script, author=author, line=3, body=f"line comment {n}")
        ReviewComment.objects.create(script=script, author=author, body=f"general comment {n}")
        run = ExecutionRun.objects.create(
            script=script,
            environment="sandbox",
            status="SUCCESS",
            exit_code=0,
            idempotency_key=f"{script.pk}:sandbox:{n}",
            script_sha256="0" * 64,
        )
        ExecutionLogLine.objects.create(run=run, seq=1, stream="stdout", text=f"run {n} output")
        record_event(actor=SYSTEM, verb="run.finished", object_type="execution_run", object_id=run.pk)
        ApprovalDecision.objects.create(
            script=script,
            decision="rejected",
            actor=author,
            justification=f"no {n}",
            script_sha256="0" * 64,
            rollback_sha256="0" * 64,
        )


@pytest.fixture
def revised_script(supervisor: Any) -> RemediationScript:
    template = TemplateFactory(name="disk-cleanup")
    version = TemplateVersion.objects.create(
        template=template, version=1, template_content=SCRIPT_TEXT, checksum="a" * 64
    )
    parent = ScriptFactory(
        generated_script=SCRIPT_TEXT, template=template, template_version=version, is_current_revision=False
    )
    script = ScriptFactory(
        anomaly=parent.anomaly,
        fingerprint=parent.fingerprint,
        parent=parent,
        revision=2,
        generator="revision",
        template=template,
        template_version=version,
        generated_script=SCRIPT_TEXT.replace("rm -rf /var/cache/checkout/tmp", "find /var/cache/checkout -delete"),
        rollback_script="echo nothing to undo\n",
        confidence_factors={"template_match": 1.0, "completeness": 0.75, "validation": 0.9},
    )
    record_event(
        actor=SYSTEM,
        verb="script.validated",
        object_type="script",
        object_id=script.pk,
        after={"validation_status": "PASSED"},
    )
    return script


class TestChangelist:
    def test_lists_scripts_with_badges_in_bounded_queries(
        self, supervisor: Any, revised_script: RemediationScript, django_assert_max_num_queries: Any
    ) -> None:
        for n in range(8):
            script = ScriptFactory(root_cause_category=f"category_{n}", confidence_level="LOW")
            ReviewComment.objects.create(script=script, author=supervisor, body="x")
        client = logged_in(supervisor)
        url = reverse("admin:remediation_remediationscript_changelist")
        with django_assert_max_num_queries(20):
            response = client.get(url)
        assert response.status_code == 200
        page = response.content.decode()
        assert "category_7" in page
        assert 'rem-badge--bad">LOW' in page
        assert "disk-cleanup" in page

    def test_filters_and_search_narrow_the_list(self, supervisor: Any) -> None:
        awaiting = ScriptFactory(root_cause_category="awaiting_one")
        failed = ScriptFactory(root_cause_category="failed_one", validation_status="FAILED")
        client = logged_in(supervisor)
        url = reverse("admin:remediation_remediationscript_changelist")
        page = client.get(url, {"queue": "failed"}).content.decode()
        assert "failed_one" in page and "awaiting_one" not in page
        page = client.get(url, {"q": str(awaiting.pk)[:8]}).content.decode()
        assert "awaiting_one" in page and "failed_one" not in page
        assert failed.pk

    def test_scoped_operator_sees_only_their_service(self, make_person: Callable[..., Any]) -> None:
        ScriptFactory(service="checkout-api", root_cause_category="checkout_thing")
        ScriptFactory(service="billing", root_cause_category="billing_thing")
        billing_operator = make_person("operator", services=("billing",), username="bill-op")
        page = logged_in(billing_operator).get(reverse("admin:remediation_remediationscript_changelist"))
        assert "billing_thing" in page.content.decode()
        assert "checkout_thing" not in page.content.decode()


class TestReviewPage:
    def test_shows_rca_script_findings_comments_revisions_runs_and_audit(
        self, supervisor: Any, revised_script: RemediationScript
    ) -> None:
        add_review_material(revised_script, supervisor, count=2)
        response = logged_in(supervisor).get(review_url(revised_script))
        assert response.status_code == 200
        page = response.content.decode()
        assert "Root volume on app-7 at 97% from stale render cache." in page  # RCA summary
        assert 'id="L3"' in page and "find /var/cache/checkout -delete" in page  # numbered script
        assert 'href="#L3">line 3</a>' in page and "finding number 1" in page  # findings linked to lines
        assert "line comment 1" in page and "general comment 0" in page
        assert "echo nothing to undo" in page  # rollback
        assert "completeness" in page and "0.75" in page  # confidence factors
        assert "deletes files under /var/cache/checkout" in page  # side effects
        assert "-rm -rf /var/cache/checkout/tmp" in page and "+find /var/cache/checkout -delete" in page  # diff
        assert review_url(revised_script.parent) in page  # revision history
        run = revised_script.runs.first()
        assert reverse("remediation:execution-live", args=[run.pk]) in page
        assert "run.finished" in page and "script.validated" in page  # audit trail, run events included
        assert "no 1" in page  # approval decisions

    def test_query_count_does_not_grow_with_the_material(
        self, supervisor: Any, revised_script: RemediationScript, django_assert_max_num_queries: Any
    ) -> None:
        other = ScriptFactory()
        add_review_material(other, supervisor, count=1)
        add_review_material(revised_script, supervisor, count=6)
        client = logged_in(supervisor)
        client.get(review_url(other))  # warm caches (content types, sessions)
        with CaptureQueriesContext(connection) as small:
            assert client.get(review_url(other)).status_code == 200
        with django_assert_max_num_queries(25), CaptureQueriesContext(connection) as large:
            assert client.get(review_url(revised_script)).status_code == 200
        assert len(large) == len(small)

    def test_hostile_rca_text_is_escaped(self, supervisor: Any) -> None:
        script = ScriptFactory(
            root_cause_analysis=rca_payload(
                summary=f"summary {HOSTILE}",
                evidence=[{"kind": "log", "text": f"user-agent={HOSTILE}"}, HOSTILE],
                parameters={"path": f"/tmp/{HOSTILE}"},
                affected_components=[{"kind": "host", "name": HOSTILE}],
            ),
            generated_script=f"echo '{HOSTILE}'\n",
        )
        ReviewComment.objects.create(script=script, author=supervisor, body=HOSTILE, line=1)
        page = logged_in(supervisor).get(review_url(script)).content.decode()
        assert HOSTILE not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert page.count("&lt;script&gt;alert(1)") >= 6

    def test_viewer_sees_no_buttons_and_operator_sees_comment_and_execute(
        self, viewer: Any, operator: Any, supervisor: Any
    ) -> None:
        script = ScriptFactory()
        viewer_page = logged_in(viewer).get(review_url(script)).content.decode()
        assert action_url(script, "approve") not in viewer_page
        assert action_url(script, "comment") not in viewer_page
        operator_page = logged_in(operator).get(review_url(script)).content.decode()
        assert action_url(script, "approve") not in operator_page
        assert action_url(script, "revise") not in operator_page
        assert action_url(script, "comment") in operator_page and action_url(script, "execute") in operator_page
        supervisor_page = logged_in(supervisor).get(review_url(script)).content.decode()
        for action in ("approve", "reject", "revise", "comment", "execute"):
            assert action_url(script, action) in supervisor_page

    def test_plain_admin_form_cannot_change_or_add(self, supervisor: Any) -> None:
        script = ScriptFactory()
        client = logged_in(supervisor)
        response = client.post(review_url(script), {"approval_status": "APPROVED", "generated_script": "reboot"})
        assert response.status_code == 403
        script.refresh_from_db()
        assert script.approval_status == "REQUIRED" and "reboot" not in script.generated_script
        assert client.get(reverse("admin:remediation_remediationscript_add")).status_code == 403


class TestReviewActions:
    def test_supervisor_approves(self, supervisor: Any) -> None:
        script = ScriptFactory()
        response = logged_in(supervisor).post(action_url(script, "approve"), {"justification": "looks right"})
        assert response.status_code == 302 and response["Location"] == review_url(script)
        script.refresh_from_db()
        assert script.approval_status == "APPROVED"
        assert script.approval_decisions.get().justification == "looks right"
        assert messages_of(response) == ["Approval recorded."]

    def test_low_confidence_approval_needs_justification(self, supervisor: Any) -> None:
        script = ScriptFactory(confidence_level="LOW", confidence_score=0.4)
        client = logged_in(supervisor)
        response = client.post(action_url(script, "approve"), {"justification": "  "})
        assert response.status_code == 302
        assert any("justification" in m for m in messages_of(response))
        script.refresh_from_db()
        assert script.approval_status == "REQUIRED"
        client.post(action_url(script, "approve"), {"justification": "checked by hand on app-7"})
        script.refresh_from_db()
        assert script.approval_status == "APPROVED"

    def test_reject_needs_justification(self, supervisor: Any) -> None:
        script = ScriptFactory()
        client = logged_in(supervisor)
        refused = client.post(action_url(script, "reject"), {"justification": ""})
        assert any("needs a justification" in m for m in messages_of(refused))
        client.post(action_url(script, "reject"), {"justification": "wrong mount point"})
        script.refresh_from_db()
        assert script.approval_status == "REJECTED"
        assert script.approval_decisions.get().decision == "rejected"

    def test_requester_cannot_approve_own_request(self, supervisor: Any) -> None:
        script = ScriptFactory(requested_by=supervisor)
        response = logged_in(supervisor).post(action_url(script, "approve"), {"justification": "mine"})
        assert any("Four-eyes" in m for m in messages_of(response))
        script.refresh_from_db()
        assert script.approval_status == "REQUIRED"

    def test_viewer_cannot_approve(self, viewer: Any) -> None:
        script = ScriptFactory()
        response = logged_in(viewer).post(action_url(script, "approve"), {"justification": "please"})
        assert response.status_code == 302
        assert any("Only supervisors" in m for m in messages_of(response))
        script.refresh_from_db()
        assert script.approval_status == "REQUIRED"
        assert not script.approval_decisions.exists()

    def test_revise_creates_a_new_revision_and_opens_it(self, supervisor: Any) -> None:
        script = ScriptFactory(generated_script=SCRIPT_TEXT)
        new_text = "#!/usr/bin/env bash\r\nset -euo pipefail\r\ndf -h /var\r\n"
        response = logged_in(supervisor).post(
            action_url(script, "revise"), {"generated_script": new_text, "rollback_script": "", "note": "narrower"}
        )
        revision = RemediationScript.objects.get(parent=script)
        assert response["Location"] == review_url(revision)
        assert revision.revision == 2 and revision.generated_script == new_text.replace("\r\n", "\n")
        assert revision.revised_by == supervisor and revision.rollback_script is None
        script.refresh_from_db()
        assert not script.is_current_revision

    def test_comment_on_a_line_and_refusals_become_messages(self, operator: Any) -> None:
        script = ScriptFactory(generated_script=SCRIPT_TEXT)
        client = logged_in(operator)
        client.post(action_url(script, "comment"), {"line": "3", "body": "is tmp the right dir?"})
        assert script.comments.get().line == 3
        outside = client.post(action_url(script, "comment"), {"line": "99", "body": "?"})
        assert any("outside the script" in m for m in messages_of(outside))
        garbage = client.post(action_url(script, "comment"), {"line": "three", "body": "?"})
        assert any("not a number" in m for m in messages_of(garbage))
        assert script.comments.count() == 1

    def test_execute_of_unapproved_script_is_an_error_message(self, operator: Any) -> None:
        script = ScriptFactory()
        response = logged_in(operator).post(action_url(script, "execute"))
        assert response.status_code == 302
        assert any("Only an APPROVED script" in m for m in messages_of(response))
        script.refresh_from_db()
        assert script.execution_status == "PENDING"

    def test_actions_are_post_only_and_scoped(self, supervisor: Any, make_person: Callable[..., Any]) -> None:
        script = ScriptFactory(service="checkout-api")
        assert logged_in(supervisor).get(action_url(script, "approve")).status_code == 405
        billing_supervisor = make_person("supervisor", services=("billing",), username="bill-sup")
        response = logged_in(billing_supervisor).post(action_url(script, "approve"), {"justification": "x"})
        assert response.status_code == 302 and response["Location"] != review_url(script)
        script.refresh_from_db()
        assert script.approval_status == "REQUIRED"


class TestOtherAdmins:
    def test_audit_admin_is_read_only_even_for_superusers(self, make_person: Callable[..., Any]) -> None:
        root = make_person("viewer", username="root", is_superuser=True)
        event = record_event(actor=SYSTEM, verb="script.validated", object_type="script", object_id="x")
        model_admin = site._registry[AuditEvent]
        client = logged_in(root)
        request = client.get(reverse("admin:index")).wsgi_request
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request, event)
        assert not model_admin.has_delete_permission(request, event)
        assert client.get(reverse("admin:remediation_auditevent_add")).status_code == 403
        assert (
            client.post(reverse("admin:remediation_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code
            == 403
        )
        assert (
            client.post(reverse("admin:remediation_auditevent_change", args=[event.pk]), {"verb": "forged"}).status_code
            == 403
        )
        page = client.get(reverse("admin:remediation_auditevent_change", args=[event.pk]))
        assert page.status_code == 200 and "script.validated" in page.content.decode()
        event.refresh_from_db()
        assert event.verb == "script.validated"

    def test_run_admin_shows_log_lines_escaped(self, supervisor: Any) -> None:
        run = ExecutionRun.objects.create(
            script=ScriptFactory(),
            environment="sandbox",
            status="FAILED",
            idempotency_key="k1",
            script_sha256="0" * 64,
            exit_code=2,
        )
        ExecutionLogLine.objects.create(run=run, seq=1, stream="stderr", text=HOSTILE)
        page = logged_in(supervisor).get(reverse("admin:remediation_executionrun_change", args=[run.pk]))
        text = page.content.decode()
        assert page.status_code == 200 and HOSTILE not in text and "&lt;script&gt;" in text

    def test_every_list_renders(self, supervisor: Any) -> None:
        client = logged_in(supervisor)
        ScriptFactory()
        for name in ("executionrun", "auditevent", "notificationrecord", "agent", "servicebudget", "anomaly"):
            assert client.get(reverse(f"admin:remediation_{name}_changelist")).status_code == 200, name
        for name in ("remediationtemplate", "templateproposal"):
            assert client.get(reverse(f"admin:templates_app_{name}_changelist")).status_code == 200, name

    def test_supervisor_edits_budget_with_audit_viewer_cannot(self, supervisor: Any, viewer: Any) -> None:
        budget = ServiceBudget.objects.create(service="checkout-api")
        url = reverse("admin:remediation_servicebudget_change", args=[budget.pk])
        form = {
            "service": "checkout-api",
            "cpu_millicores": 250,
            "memory_limit_mb": 256,
            "time_limit_seconds": 60,
            "auto_execute": "",
            "target_database_url_env": "",
        }
        assert logged_in(viewer).post(url, form).status_code == 403
        response = logged_in(supervisor).post(url, form)
        assert response.status_code == 302
        budget.refresh_from_db()
        assert budget.time_limit_seconds == 60 and budget.auto_execute is False
        event = AuditEvent.objects.get(verb="budget.updated")
        assert event.after["time_limit_seconds"] == 60 and event.before["time_limit_seconds"] == 300

    def test_release_quarantined_template_needs_justification(self, supervisor: Any, viewer: Any) -> None:
        template = TemplateFactory(
            is_quarantined=True, quarantine_reason="3 consecutive failed executions", consecutive_failures=3
        )
        url = reverse("admin:templates_app_remediationtemplate_changelist")
        client = logged_in(supervisor)
        confirm = client.post(url, {"action": "release_from_quarantine", "_selected_action": [template.pk], "index": 0})
        assert confirm.status_code == 200 and "3 consecutive failed executions" in confirm.content.decode()
        client.post(
            url,
            {
                "action": "release_from_quarantine",
                "_selected_action": [template.pk],
                "confirm": "yes",
                "justification": "",
            },
        )
        template.refresh_from_db()
        assert template.is_quarantined
        client.post(
            url,
            {
                "action": "release_from_quarantine",
                "_selected_action": [template.pk],
                "confirm": "yes",
                "justification": "fixed the mount in the seed",
            },
        )
        template.refresh_from_db()
        assert not template.is_quarantined
        assert AuditEvent.objects.get(verb="template.released").details["justification"] == (
            "fixed the mount in the seed"
        )
        viewer_list = logged_in(viewer).get(url).content.decode()
        assert "release_from_quarantine" not in viewer_list
        assert RemediationTemplate.objects.filter(is_quarantined=False).count() == 1


class TestRollbackAction:
    def _failed_target_run(self) -> ExecutionRun:
        script = ScriptFactory(rollback_script="echo restore\n", approval_status="APPROVED", execution_status="FAILED")
        return ExecutionRun.objects.create(
            script=script,
            environment="target",
            status="FAILED",
            idempotency_key=f"{script.pk}:target:1",
            script_sha256="0" * 64,
        )

    def test_a_supervisor_queues_a_rollback_from_the_run_list(self, supervisor: Any) -> None:
        from django.test import TestCase

        run = self._failed_target_run()
        with TestCase.captureOnCommitCallbacks(execute=False) as queued:
            response = logged_in(supervisor).post(
                reverse("admin:remediation_executionrun_changelist"),
                {"action": "roll_back", "_selected_action": [str(run.pk)]},
                follow=True,
            )
        assert any("rollback queued" in message for message in messages_of(response))
        assert len(queued) == 1  # the rollback task, sent after commit
        assert AuditEvent.objects.filter(object_id=str(run.pk), verb="rollback.requested").exists()

    def test_a_viewer_gets_a_refusal_message_and_nothing_is_queued(self, viewer: Any) -> None:
        run = self._failed_target_run()
        response = logged_in(viewer).post(
            reverse("admin:remediation_executionrun_changelist"),
            {"action": "roll_back", "_selected_action": [str(run.pk)]},
            follow=True,
        )
        assert not AuditEvent.objects.filter(object_id=str(run.pk), verb="rollback.requested").exists()
        assert response.status_code in (200, 403)
