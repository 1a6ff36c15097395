"""The audit trail: append-only in the database itself, and readable through the API in order.

Immutability is enforced by a PostgreSQL trigger, so it holds for raw SQL and for any code path
(ORM, admin, a shell), not only for the services.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from remediation.lifecycle import SYSTEM, record_event
from remediation.models import AuditEvent
from remediation.services.approval import script_approve, script_reject
from remediation.services.execution import script_execute
from remediation.services.review import comment_create, script_revise
from tests.remediation.conftest import API, audit_of, make_script

pytestmark = pytest.mark.django_db


@pytest.fixture
def event() -> AuditEvent:
    return record_event(
        actor=SYSTEM,
        verb="script.approved",
        object_type="script",
        object_id="abc",
        after={"approval_status": "APPROVED"},
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE remediation_auditevent SET verb = 'script.rejected' WHERE id = %s",
        "UPDATE remediation_auditevent SET actor_label = 'someone-else', after = '{}'::jsonb WHERE id = %s",
        "DELETE FROM remediation_auditevent WHERE id = %s",
        "DELETE FROM remediation_auditevent WHERE id >= %s",
    ],
)
def test_raw_sql_cannot_change_or_remove_an_event(statement: str, event: AuditEvent) -> None:
    with pytest.raises(DatabaseError, match="Cannot update or delete"), transaction.atomic(), connection.cursor() as c:
        c.execute(statement, [event.pk])
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.verb, stored.actor_label, stored.after) == (
        "script.approved",
        "system",
        {"approval_status": "APPROVED"},
    )


def test_the_orm_cannot_change_or_remove_an_event_either(event: AuditEvent) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(verb="tampered")
    event.verb = "tampered"
    with pytest.raises(DatabaseError), transaction.atomic():
        event.save()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).verb == "script.approved"


def test_appending_still_works_after_a_refused_change(event: AuditEvent) -> None:
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM remediation_auditevent")
    record_event(actor=SYSTEM, verb="script.rejected", object_type="script", object_id="abc")
    assert list(AuditEvent.objects.filter(object_id="abc").values_list("verb", flat=True)) == [
        "script.approved",
        "script.rejected",
    ]


def test_the_trigger_is_installed_in_the_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'remediation_auditevent'::regclass AND NOT tgisinternal"
        )
        names = [row[0] for row in cursor.fetchall()]
    assert any("audit_append_only" in name for name in names)


# --- the API -----------------------------------------------------------------------------------------


def test_the_api_lists_a_scripts_events_oldest_first_with_actor_verb_and_time(
    supervisor: Any,
    operator: Any,
    make_person: Any,
    client_for: Any,
    on_commit: Any,
    no_notification_channels: None,
) -> None:
    script = make_script()
    other = make_script()
    script_reject(script=other, user=supervisor, justification="someone else's script")
    comment_create(script=script, user=operator, body="line 3 is fine", line=3)
    script_approve(script=script, user=supervisor, justification="ok")
    with on_commit():
        script_execute(script=script, user=operator)

    # A viewer without admin (staff) access reads the trail: it does not depend on the admin.
    reader = make_person("viewer", username="val-viewer", is_staff=False)
    response = client_for(reader).get(f"{API}scripts/{script.pk}/audit")

    assert response.status_code == 200
    events = response.json()
    assert all({"actor", "verb", "at", "actor_kind", "before", "after"} <= set(e) for e in events)
    verbs = [e["verb"] for e in events]
    assert verbs[:4] == ["comment.created", "script.approved", "script.execution_queued", "script.execution_started"]
    assert verbs[-1] == "script.execution_succeeded"
    assert {"run.claimed", "run.started", "run.finished"} <= set(verbs), "the runs' events are part of the trail"
    assert "script.rejected" not in verbs, "another script's events do not leak in"
    times = [e["at"] for e in events]
    assert times == sorted(times)
    actors = {e["verb"]: e["actor"] for e in events}
    assert actors["comment.created"] == operator.username
    assert actors["script.approved"] == supervisor.username
    assert actors["script.execution_queued"] == operator.username
    assert actors["script.execution_started"] == "system"
    run_ids = [str(pk) for pk in script.runs.values_list("pk", flat=True)]
    run_events = AuditEvent.objects.filter(object_type="execution_run", object_id__in=run_ids).count()
    assert len(events) == len(audit_of(script)) + run_events


def test_events_made_through_the_api_carry_its_request_id(supervisor: Any, client_for: Any) -> None:
    script = make_script()
    response = client_for(supervisor).post(
        f"{API}scripts/{script.pk}/approve",
        data=json.dumps({}),
        content_type="application/json",
        HTTP_X_REQUEST_ID="req-42.approve",
    )
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-42.approve"
    (approved,) = audit_of(script, "script.approved")
    assert approved.request_id == "req-42.approve"
    assert approved.actor_label == supervisor.username


def test_the_trail_of_a_revision_includes_the_earlier_revisions(
    supervisor: Any, second_supervisor: Any, client_for: Any
) -> None:
    first = make_script()
    script_reject(script=first, user=second_supervisor, justification="too broad")
    revision = script_revise(
        script=first, user=supervisor, generated_script="#!/usr/bin/env bash\ndf -h /var\n", rollback_script=None
    )
    verbs = [e["verb"] for e in client_for(supervisor).get(f"{API}scripts/{revision.pk}/audit").json()]
    assert "script.rejected" in verbs
    assert "script.revised" in verbs
