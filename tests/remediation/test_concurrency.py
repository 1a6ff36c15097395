"""Races on one script over real, concurrent PostgreSQL connections.

Each thread has its own Django connection (closed when it ends) and its own transaction; a barrier
releases them together. The row lock in the lifecycle must let exactly one win; the others are
refused with a domain error, never a second approval, a second queueing or a half-written state.
Each race is repeated a few times so that the interleaving actually varies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from remediation.errors import ActionForbidden, DomainError, TransitionRefused
from remediation.models import ApprovalDecision, ExecutionRun
from remediation.services.approval import approvals_sweep, script_approve, script_reject
from remediation.services.execution import script_execute
from remediation.services.review import script_revise
from tests.remediation.conftest import audit_of, fresh, make_script

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_notification_channels")]

ROUNDS = 4


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at once, one thread each; returns each call's result or the exception it raised."""
    barrier = threading.Barrier(len(calls), timeout=20)
    outcomes: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            outcomes[index] = call()
        except BaseException as exc:  # noqa: BLE001 - the outcome under test
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c), name=f"racer-{i}") for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a racer hung (lock never released?)"
    return outcomes


def winners(outcomes: list[Any]) -> list[Any]:
    return [o for o in outcomes if not isinstance(o, BaseException)]


def losers(outcomes: list[Any]) -> list[BaseException]:
    return [o for o in outcomes if isinstance(o, BaseException)]


@pytest.fixture
def supervisors(make_person: Any) -> list[Any]:
    return [make_person("supervisor", username=f"racer-{i}") for i in range(4)]


def test_four_supervisors_approving_at_once_approve_once(supervisors: list[Any]) -> None:
    for _ in range(ROUNDS):
        script = make_script()

        outcomes = race(
            *[partial(script_approve, script=script, user=user, justification="go") for user in supervisors]
        )

        assert len(winners(outcomes)) == 1, outcomes
        assert all(isinstance(o, TransitionRefused) for o in losers(outcomes)), outcomes
        assert fresh(script).approval_status == "APPROVED"
        assert len(audit_of(script, "script.approved")) == 1
        (decision,) = ApprovalDecision.objects.filter(script=script)
        assert decision.actor_id == audit_of(script, "script.approved")[0].actor_id


def test_approve_and_reject_at_once_one_decision_wins(supervisors: list[Any]) -> None:
    for _ in range(ROUNDS):
        script = make_script()
        approve = [partial(script_approve, script=script, user=user) for user in supervisors[:2]]
        reject = [partial(script_reject, script=script, user=user, justification="no") for user in supervisors[2:]]

        outcomes = race(*approve, *reject)

        (winner,) = winners(outcomes)
        assert all(isinstance(o, TransitionRefused) for o in losers(outcomes)), outcomes
        final = fresh(script).approval_status
        assert final == winner.approval_status
        decided = [e.verb for e in audit_of(script) if e.verb in {"script.approved", "script.rejected"}]
        assert decided == ["script.approved" if final == "APPROVED" else "script.rejected"]
        assert ApprovalDecision.objects.filter(script=script).count() == 1


def test_executing_at_once_queues_and_runs_once(supervisors: list[Any], make_person: Any) -> None:
    operator = make_person("operator", username="oli-operator")
    for _ in range(3):
        script = make_script()
        script_approve(script=script, user=supervisors[0])
        people = [operator, *supervisors]

        outcomes = race(*[partial(script_execute, script=script, user=user) for user in people])

        assert len(winners(outcomes)) == 1, outcomes
        assert all(isinstance(o, TransitionRefused) for o in losers(outcomes)), outcomes
        assert len(audit_of(script, "script.execution_queued")) == 1
        assert len(audit_of(script, "script.execution_started")) == 1
        # The winner's commit ran the (eager) execute task: one rehearsal and one target run, no more.
        assert sorted(ExecutionRun.objects.filter(script=script).values_list("environment", flat=True)) == [
            "sandbox",
            "target",
        ]
        assert fresh(script).execution_status == "SUCCESS"


def test_approval_racing_the_expiry_sweep_ends_in_one_state(supervisors: list[Any]) -> None:
    for _ in range(ROUNDS):
        script = make_script(approval_expires_at=timezone.now() + timedelta(minutes=5))
        later = timezone.now() + timedelta(minutes=10)

        outcomes = race(
            partial(script_approve, script=script, user=supervisors[0]), partial(approvals_sweep, now=later)
        )

        approved, swept = outcomes
        final = fresh(script).approval_status
        assert not isinstance(swept, BaseException), swept
        if final == "APPROVED":
            assert not isinstance(approved, BaseException)
            assert swept == {"escalated": 0, "expired": 0, "warned": 0}
            assert audit_of(script, "script.approval_expired") == []
        else:
            assert final == "EXPIRED"
            assert isinstance(approved, TransitionRefused)
            assert swept["expired"] == 1
            assert not ApprovalDecision.objects.filter(script=script).exists()


def test_low_quorum_two_supervisors_at_once_both_count(supervisors: list[Any], settings: Any) -> None:
    settings.LOW_CONFIDENCE_QUORUM = 2
    assert django_settings.LOW_CONFIDENCE_QUORUM == 2  # the threads read the same settings object
    for _ in range(ROUNDS):
        script = make_script(confidence_level="LOW", confidence_score=0.3)

        outcomes = race(
            *[partial(script_approve, script=script, user=user, justification="ok") for user in supervisors[:2]]
        )

        assert not losers(outcomes), outcomes
        assert fresh(script).approval_status == "APPROVED"
        assert ApprovalDecision.objects.filter(script=script).count() == 2
        assert len(audit_of(script, "script.approval_recorded")) == 1
        assert len(audit_of(script, "script.approved")) == 1


def test_a_double_click_does_not_make_a_quorum(supervisors: list[Any], settings: Any) -> None:
    settings.LOW_CONFIDENCE_QUORUM = 2
    for _ in range(ROUNDS):
        script = make_script(confidence_level="LOW", confidence_score=0.3)
        double_click = partial(script_approve, script=script, user=supervisors[0], justification="ok")

        outcomes = race(double_click, double_click, double_click)

        assert len(winners(outcomes)) == 1, outcomes
        assert all(isinstance(o, TransitionRefused) and o.code == "quorum" for o in losers(outcomes)), outcomes
        assert fresh(script).approval_status == "REQUIRED"
        assert ApprovalDecision.objects.filter(script=script).count() == 1


def test_revising_while_another_supervisor_approves_never_does_both(supervisors: list[Any]) -> None:
    new_text = "#!/usr/bin/env bash\nset -euo pipefail\ndf -h /var\n"
    for _ in range(2):
        script = make_script()

        revised, approved = race(
            partial(script_revise, script=script, user=supervisors[0], generated_script=new_text, rollback_script=None),
            partial(script_approve, script=script, user=supervisors[1]),
        )

        parent = fresh(script)
        if isinstance(revised, BaseException):
            assert isinstance(revised, TransitionRefused), revised
            assert not isinstance(approved, BaseException)
            assert (parent.approval_status, parent.is_current_revision) == ("APPROVED", True)
        else:
            assert isinstance(approved, TransitionRefused) and approved.code == "superseded", approved
            assert (parent.approval_status, parent.is_current_revision) == ("REQUIRED", False)
            assert fresh(revised).approval_status == "REQUIRED"


def test_a_four_eyes_refusal_in_a_race_leaves_the_field_to_the_others(supervisors: list[Any]) -> None:
    requester = supervisors[0]
    for _ in range(2):
        script = make_script(requested_by=requester)

        outcomes = race(*[partial(script_approve, script=script, user=user) for user in supervisors])

        assert isinstance(outcomes[0], ActionForbidden | TransitionRefused), outcomes[0]
        assert len(winners(outcomes)) == 1, outcomes
        assert all(isinstance(o, DomainError) for o in losers(outcomes))
        (decision,) = ApprovalDecision.objects.filter(script=script)
        assert decision.actor_id != requester.pk


def test_concurrent_sweeps_escalate_and_expire_once(supervisors: list[Any]) -> None:
    from remediation.models import NotificationRecord

    script = make_script(approval_expires_at=timezone.now() + timedelta(hours=24))
    escalate_at = timezone.now() + timedelta(hours=5)
    expire_at = timezone.now() + timedelta(hours=25)

    escalations = race(*[partial(approvals_sweep, now=escalate_at)] * 3)
    assert sum(o["escalated"] for o in escalations) == 1, escalations
    assert NotificationRecord.objects.filter(object_id=str(script.pk), event="approval_escalated").count() == 1
    assert len(audit_of(script, "script.approval_escalated")) == 1

    expiries = race(*[partial(approvals_sweep, now=expire_at)] * 3)
    assert sum(o["expired"] for o in expiries) == 1, expiries
    assert len(audit_of(script, "script.approval_expired")) == 1
    assert fresh(script).approval_status == "EXPIRED"
