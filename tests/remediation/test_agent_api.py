"""The agent API: work list, claims as leases, the claimant-only permission matrix, logs and results."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from remediation.models import AuditEvent, ExecutionLogLine, ExecutionRun, RemediationScript
from remediation.services.accounts import agent_create
from tests.factories import ScriptFactory, TemplateFactory, record_policy_approval

pytestmark = pytest.mark.django_db

API = "/api/generative-remediation"
SCRIPT = "#!/usr/bin/env bash\nset -euo pipefail\necho cleaning\n"


@pytest.fixture(autouse=True)
def agent_backend(settings: Any) -> None:
    settings.SANDBOX_BACKEND = "agent"
    settings.EXECUTION_LEASE_SECONDS = 60


@pytest.fixture
def make_agent(roles: None) -> Callable[..., tuple[Any, APIClient]]:
    def make(name: str, capabilities: tuple[str, ...] = ("bash",), services: tuple[str, ...] = ()) -> Any:
        agent, issued, _ = agent_create(name=name, capabilities=capabilities, services=services)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {issued.raw}")
        return agent, client

    return make


def queued_script(**fields: Any) -> RemediationScript:
    fields.setdefault("generated_script", SCRIPT)
    script = cast(
        "RemediationScript",
        ScriptFactory(approval_status="APPROVED", execution_status="QUEUED", approved_at=timezone.now(), **fields),
    )
    record_policy_approval(script)
    return script


def work_ids(client: APIClient) -> set[str]:
    response = client.get(f"{API}/agent/work")
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["scripts"]}


def claim(client: APIClient, script: RemediationScript) -> Any:
    return client.post(f"{API}/scripts/{script.pk}/claim", {"worker": "host-1"}, format="json")


def started_run(client: APIClient, script: RemediationScript) -> str:
    response = claim(client, script)
    assert response.status_code == 201, response.content
    run_id: str = response.json()["run_id"]
    assert client.post(f"{API}/runs/{run_id}/start").status_code == 200
    return run_id


def expire_lease(run_id: str) -> None:
    ExecutionRun.objects.filter(pk=run_id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


# --------------------------------------------------------------------------- work list


def test_work_lists_only_what_the_agent_may_run(make_agent: Callable[..., Any]) -> None:
    _, bash_agent = make_agent("bash-host", ("bash",))
    _, python_agent = make_agent("python-host", ("python",))
    _, other_service_agent = make_agent("billing-host", ("bash",), services=("billing",))
    runnable = queued_script()
    needs_kubectl = queued_script(template=TemplateFactory(required_capabilities=["bash", "kubectl"]))
    sql = queued_script(script_language="sql", target_system="postgresql", generated_script="SELECT 1;")
    awaiting_approval = cast("RemediationScript", ScriptFactory(generated_script=SCRIPT))

    listed = work_ids(bash_agent)
    assert str(runnable.pk) in listed
    assert not listed & {str(needs_kubectl.pk), str(sql.pk), str(awaiting_approval.pk)}
    assert work_ids(python_agent) == set()
    assert work_ids(other_service_agent) == set()


def test_without_the_agent_backend_the_server_keeps_its_scripts(settings: Any, make_agent: Callable[..., Any]) -> None:
    settings.SANDBOX_BACKEND = "local"
    _, client = make_agent("bash-host")
    script = queued_script()
    response = client.get(f"{API}/agent/work")
    assert response.status_code == 409 and response.json()["code"] == "agent_backend_disabled"
    assert claim(client, script).status_code == 409
    script.refresh_from_db()
    assert script.execution_status == "QUEUED"


# --------------------------------------------------------------------------- claim


def test_a_claim_hands_out_the_approved_text_once(make_agent: Callable[..., Any]) -> None:
    agent, first = make_agent("host-a")
    _, second = make_agent("host-b")
    script = queued_script(rollback_script="echo undo\n")

    response = claim(first, script)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["script"]["generated_script"] == SCRIPT
    assert body["script"]["script_sha256"] == script.script_sha256
    assert body["script"]["rollback_script"] == "echo undo\n"
    assert body["validation_context"]["target_system"] == "linux"
    assert body["limits"]["wall_seconds"] > 0

    run = ExecutionRun.objects.get(pk=body["run_id"])
    assert (run.status, run.backend, run.environment, run.claimed_by) == ("CLAIMED", "agent", "target", agent)
    assert run.idempotency_key == f"{script.pk}:agent:1"
    assert run.lease_expires_at is not None and run.lease_expires_at > timezone.now() + timedelta(seconds=50)
    script.refresh_from_db()
    assert script.execution_status == "RUNNING"

    assert claim(second, script).status_code == 409
    assert claim(first, script).status_code == 409
    assert str(script.pk) not in work_ids(second)
    assert ExecutionRun.objects.filter(script=script).count() == 1


def test_an_edit_after_approval_is_never_handed_out(make_agent: Callable[..., Any]) -> None:
    _, client = make_agent("host-a")
    script = queued_script()
    RemediationScript.objects.filter(pk=script.pk).update(generated_script=SCRIPT + "rm -rf /srv/data\n")
    response = claim(client, script)
    assert response.status_code == 409 and response.json()["code"] == "approval_binding"
    script.refresh_from_db()
    assert script.execution_status == "FAILED"
    assert not ExecutionRun.objects.filter(script=script).exists()


def test_a_script_outside_the_agents_scope_or_capabilities_cannot_be_claimed(make_agent: Callable[..., Any]) -> None:
    _, billing_agent = make_agent("billing-host", ("bash",), services=("billing",))
    _, python_agent = make_agent("python-host", ("python",))
    script = queued_script()
    assert claim(billing_agent, script).status_code == 404
    response = claim(python_agent, script)
    assert response.status_code == 403 and response.json()["code"] == "capability_missing"


# --------------------------------------------------------------------------- who may act on a run


@pytest.mark.parametrize("caller", ["owner", "other_agent", "person", "anonymous"])
def test_only_the_claiming_agent_may_act_on_its_run(
    caller: str, make_agent: Callable[..., Any], supervisor: Any, client_for: Callable[[Any], Any]
) -> None:
    _, owner = make_agent("host-a")
    _, other_agent = make_agent("host-b")
    script = queued_script()
    run_id = started_run(owner, script)
    client = {"owner": owner, "other_agent": other_agent, "person": client_for(supervisor), "anonymous": APIClient()}[
        caller
    ]
    expected = {"owner": 200, "other_agent": 403, "person": 403, "anonymous": 401}[caller]

    calls = [
        client.post(f"{API}/runs/{run_id}/heartbeat"),
        client.post(
            f"{API}/runs/{run_id}/log", {"lines": [{"seq": 1, "stream": "stdout", "text": "hi"}]}, format="json"
        ),
        client.post(
            f"{API}/runs/{run_id}/result", {"script_sha256": script.script_sha256, "exit_code": 0}, format="json"
        ),
    ]
    assert [response.status_code for response in calls] == [expected] * 3
    run = ExecutionRun.objects.get(pk=run_id)
    assert run.status == ("SUCCESS" if caller == "owner" else "RUNNING")
    assert ExecutionLogLine.objects.filter(run=run).count() == (1 if caller == "owner" else 0)


def test_a_person_cannot_list_or_claim_work(supervisor: Any, client_for: Callable[[Any], Any]) -> None:
    script = queued_script()
    client = client_for(supervisor)
    assert client.get(f"{API}/agent/work").status_code == 403
    assert claim(client, script).status_code == 403
    assert APIClient().get(f"{API}/agent/work").status_code == 401


# --------------------------------------------------------------------------- leases


def test_an_expired_claim_that_never_started_is_reclaimed_by_another_agent(make_agent: Callable[..., Any]) -> None:
    _, first = make_agent("host-a")
    second_agent, second = make_agent("host-b")
    script = queued_script()
    run_id = claim(first, script).json()["run_id"]
    expire_lease(run_id)

    assert str(script.pk) in work_ids(second)
    response = claim(second, script)
    assert response.status_code == 201, response.content
    assert response.json()["run_id"] == run_id and response.json()["reclaimed"] is True
    run = ExecutionRun.objects.get(pk=run_id)
    assert run.claimed_by == second_agent and run.status == "CLAIMED"

    lost = first.post(f"{API}/runs/{run_id}/heartbeat")
    assert lost.status_code == 409 and lost.json()["code"] == "lease_lost"
    assert first.post(f"{API}/runs/{run_id}/start").status_code == 409
    verbs = list(AuditEvent.objects.filter(object_id=run_id).order_by("at", "id").values_list("verb", flat=True))
    assert verbs == ["run.claimed", "run.lease_released", "run.claimed"]


def test_a_started_run_whose_lease_expired_is_never_handed_out_again(make_agent: Callable[..., Any]) -> None:
    _, first = make_agent("host-a")
    _, second = make_agent("host-b")
    script = queued_script()
    run_id = started_run(first, script)
    expire_lease(run_id)
    assert str(script.pk) not in work_ids(second)
    response = claim(second, script)
    assert response.status_code == 409 and response.json()["code"] == "run_in_progress"


def test_a_heartbeat_extends_the_lease_and_a_lapsed_claim_cannot_start(make_agent: Callable[..., Any]) -> None:
    _, client = make_agent("host-a")
    script = queued_script()
    run_id = claim(client, script).json()["run_id"]
    ExecutionRun.objects.filter(pk=run_id).update(lease_expires_at=timezone.now() + timedelta(seconds=5))
    assert client.post(f"{API}/runs/{run_id}/heartbeat").status_code == 200
    renewed = ExecutionRun.objects.get(pk=run_id).lease_expires_at
    assert renewed is not None and renewed > timezone.now() + timedelta(seconds=50)

    expire_lease(run_id)
    response = client.post(f"{API}/runs/{run_id}/start")
    assert response.status_code == 409 and response.json()["code"] == "lease_expired"


# --------------------------------------------------------------------------- logs and results


def test_log_lines_are_deduplicated_by_seq(make_agent: Callable[..., Any]) -> None:
    _, client = make_agent("host-a")
    run_id = started_run(client, queued_script())

    def send(*seqs: int) -> Any:
        lines = [{"seq": seq, "stream": "stderr" if seq == 2 else "stdout", "text": f"line {seq}"} for seq in seqs]
        response = client.post(f"{API}/runs/{run_id}/log", {"lines": lines}, format="json")
        assert response.status_code == 200, response.content
        return response.json()

    assert send(1, 2, 3) == {"stored": 3, "duplicates": 0}
    assert send(2, 3, 4) == {"stored": 1, "duplicates": 2}  # a retried batch plus one new line
    stored = list(ExecutionLogLine.objects.filter(run__pk=run_id).values_list("seq", "stream", "text"))
    assert stored == [
        (1, "stdout", "line 1"),
        (2, "stderr", "line 2"),
        (3, "stdout", "line 3"),
        (4, "stdout", "line 4"),
    ]
    bad = client.post(f"{API}/runs/{run_id}/log", {"lines": [{"seq": 5, "stream": "tty", "text": "x"}]}, format="json")
    assert bad.status_code == 400


def test_a_result_for_other_text_than_the_approved_is_refused(make_agent: Callable[..., Any]) -> None:
    _, client = make_agent("host-a")
    script = queued_script()
    run_id = started_run(client, script)
    forged = client.post(f"{API}/runs/{run_id}/result", {"script_sha256": "0" * 64, "exit_code": 0}, format="json")
    assert forged.status_code == 409 and forged.json()["code"] == "sha_mismatch"
    assert ExecutionRun.objects.get(pk=run_id).status == "RUNNING"
    assert AuditEvent.objects.filter(object_id=run_id, verb="run.result_refused").exists()

    client.post(
        f"{API}/runs/{run_id}/log", {"lines": [{"seq": 1, "stream": "stdout", "text": "cleaning"}]}, format="json"
    )
    ok = client.post(
        f"{API}/runs/{run_id}/result",
        {"script_sha256": script.script_sha256, "exit_code": 0, "duration_ms": 12.5, "peak_memory_kb": 2048},
        format="json",
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["script_execution_status"] == "SUCCESS"
    run = ExecutionRun.objects.get(pk=run_id)
    assert (run.status, run.exit_code, run.log, run.lease_expires_at) == ("SUCCESS", 0, "cleaning", None)
    assert run.resource_usage["peak_memory_kb"] == 2048
    again = client.post(
        f"{API}/runs/{run_id}/result", {"script_sha256": script.script_sha256, "exit_code": 0}, format="json"
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("report", "run_status"),
    [
        ({"exit_code": 3, "stderr_tail": "disk still full\n"}, "FAILED"),
        ({"exit_code": 124, "timed_out": True, "killed_reason": "timeout"}, "TIMED_OUT"),
        ({"exit_code": 137, "killed_reason": "memory"}, "FAILED"),
    ],
)
def test_a_failed_run_fails_the_script(report: dict[str, Any], run_status: str, make_agent: Callable[..., Any]) -> None:
    _, client = make_agent("host-a")
    script = queued_script()
    run_id = started_run(client, script)
    response = client.post(
        f"{API}/runs/{run_id}/result", {"script_sha256": script.script_sha256, **report}, format="json"
    )
    assert response.status_code == 200, response.content
    run = ExecutionRun.objects.get(pk=run_id)
    script.refresh_from_db()
    assert (run.status, script.execution_status) == (run_status, "FAILED")
    if report.get("stderr_tail"):
        assert "disk still full" in run.error


def test_an_agent_that_refuses_to_run_reports_it_without_starting(make_agent: Callable[..., Any]) -> None:
    _, client = make_agent("host-a")
    script = queued_script()
    run_id = claim(client, script).json()["run_id"]
    premature = client.post(
        f"{API}/runs/{run_id}/result", {"script_sha256": script.script_sha256, "exit_code": 0}, format="json"
    )
    assert premature.status_code == 409 and premature.json()["code"] == "not_started"
    response = client.post(
        f"{API}/runs/{run_id}/result",
        {
            "script_sha256": "f" * 64,
            "refused": "local validation FAILED: BASH-RM-ROOT",
            "validation": {"status": "FAILED"},
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    run = ExecutionRun.objects.get(pk=run_id)
    script.refresh_from_db()
    assert (run.status, script.execution_status) == ("FAILED", "FAILED")
    assert "BASH-RM-ROOT" in run.error
