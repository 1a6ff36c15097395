"""The manage.py commands of contracts/COMMANDS.md, run as an operator would run them.

validate_script and sandbox_run need no database, so they run as real subprocesses of manage.py;
the commands that write to the database run with call_command against the test database.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from remediation.models import ApiToken, RemediationScript
from remediation.models.access import hash_token

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO.parent / "shared" / "examples" / "rca"


def manage(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def scripts(tmp_path: Path) -> dict[str, Path]:
    files = {
        "good.sh": "#!/usr/bin/env bash\nset -euo pipefail\ndf -h /\n",
        "bad.sh": "rm -rf /\n",
        "broken.sh": "if then fi (\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return {name: tmp_path / name for name in files}


def test_validate_script_json_lines_in_order_and_exit_codes(scripts: dict[str, Path]) -> None:
    passed = manage("validate_script", str(scripts["good.sh"]), "--language", "bash", "--format", "json")
    assert passed.returncode == 0, passed.stderr
    (record,) = [json.loads(line) for line in passed.stdout.splitlines()]
    assert record["path"] == str(scripts["good.sh"]) and record["status"] == "PASSED"
    assert {"language", "target_system", "strictness", "findings", "duration_ms"} <= set(record)
    assert record["target_system"] == "linux" and record["strictness"] == "HIGH"

    mixed = manage(
        "validate_script",
        str(scripts["good.sh"]),
        str(scripts["bad.sh"]),
        str(scripts["broken.sh"]),
        "--language",
        "bash",
        "--format",
        "json",
    )
    assert mixed.returncode == 1
    records = [json.loads(line) for line in mixed.stdout.splitlines()]
    assert [r["path"] for r in records] == [str(scripts[n]) for n in ("good.sh", "bad.sh", "broken.sh")]
    assert [r["status"] for r in records] == ["PASSED", "FAILED", "FAILED"]
    assert any(f["severity"] == "critical" for f in records[1]["findings"])
    assert any(f["rule_id"].startswith("syntax") for f in records[2]["findings"])
    for finding in records[1]["findings"]:
        assert {"rule_id", "severity", "line", "message", "hint"} <= set(finding)


def test_validate_script_usage_errors_exit_2(scripts: dict[str, Path], tmp_path: Path) -> None:
    assert manage("validate_script", str(tmp_path / "missing.sh"), "--language", "bash").returncode == 2
    assert manage("validate_script", str(scripts["good.sh"]), "--language", "cobol").returncode == 2
    assert manage("validate_script", str(scripts["good.sh"])).returncode == 2
    lowered = manage(
        "validate_script", str(scripts["good.sh"]), "--language", "bash", "--strictness", "low", "--format", "json"
    )
    assert lowered.returncode == 0 and json.loads(lowered.stdout)["strictness"] == "LOW"


@pytest.mark.usefixtures("bwrap_available")
def test_sandbox_run_exit_codes_and_json(tmp_path: Path) -> None:
    script = tmp_path / "exit3.sh"
    script.write_text("echo out; echo err >&2; exit 3\n")
    result = manage("sandbox_run", str(script), "--language", "bash", "--format", "json")
    assert result.returncode == 3
    payload = json.loads(result.stdout)
    assert {"exit_code", "timed_out", "killed_reason", "stdout", "stderr", "duration_ms", "peak_memory_kb"} <= set(
        payload
    )
    assert (payload["exit_code"], payload["stdout"], payload["stderr"]) == (3, "out\n", "err\n")
    sleeper = tmp_path / "sleep.py"
    sleeper.write_text("import time\ntime.sleep(30)\n")
    assert manage("sandbox_run", str(sleeper), "--language", "python", "--timeout", "1").returncode == 124
    assert manage("sandbox_run", str(sleeper), "--language", "ruby").returncode == 2


@pytest.mark.django_db
def test_generate_script_stores_and_prints_the_contract_shape(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        call_command("generate_script", "--rca", str(EXAMPLES / "disk_full_app_cache.json"), "--format", "json")
    assert exited.value.code == 0
    data = json.loads(capsys.readouterr().out)
    keys = {
        "id",
        "anomaly_id",
        "template",
        "script_language",
        "target_system",
        "generated_script",
        "rollback_script",
        "confidence_score",
        "confidence_level",
        "confidence_factors",
        "validation_status",
        "validation_findings",
        "approval_status",
        "execution_status",
        "error",
    }
    assert keys <= set(data)
    assert RemediationScript.objects.filter(pk=data["id"]).exists()
    assert data["template"] and data["validation_status"] == "PASSED" and data["error"] is None
    assert 0 <= data["confidence_score"] <= 1


@pytest.mark.django_db
def test_generate_script_exit_1_without_a_script_and_2_for_a_bad_rca(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        call_command("generate_script", "--rca", str(EXAMPLES / "novel_ntp_drift.json"), "--format", "json", "--no-llm")
    assert exited.value.code == 1
    assert "manual review" in json.loads(capsys.readouterr().out)["error"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"root_cause_category": "disk_full", "summary": "x", "target_system": "linux"}))
    err = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("generate_script", "--rca", str(bad), stderr=err)
    assert exited.value.code == 2
    assert "confidence" in err.getvalue()


@pytest.mark.django_db
def test_seed_templates_is_idempotent() -> None:
    first, second = io.StringIO(), io.StringIO()
    call_command("seed_templates", stdout=first)
    call_command("seed_templates", stdout=second)
    assert first.getvalue().startswith(tuple(f"{n} created" for n in range(25, 200)))
    assert second.getvalue().startswith("0 created, 0 updated, ")


@pytest.mark.django_db
def test_create_agent_prints_a_working_token_last_and_rotates_it(client: Any) -> None:
    out = io.StringIO()
    call_command("create_agent", "edge-1", "--capabilities", "bash,kubectl", "--service", "checkout-api", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    assert ApiToken.objects.get(key_hash=hash_token(token)).is_active
    assert token not in {t.key_hash for t in ApiToken.objects.all()}  # stored hashed, never in clear
    response = client.get("/api/generative-remediation/scripts", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200
    rotated = io.StringIO()
    call_command("create_agent", "edge-1", "--capabilities", "bash", stdout=rotated)
    assert client.get("/api/generative-remediation/scripts", HTTP_AUTHORIZATION=f"Token {token}").status_code == 401


@pytest.mark.django_db
def test_create_user_with_role_password_and_token(monkeypatch: pytest.MonkeyPatch, client: Any) -> None:
    monkeypatch.setenv("ALICE_PASSWORD", "a long enough password")
    out = io.StringIO()
    call_command(
        "create_user",
        "alice",
        "--role",
        "supervisor",
        "--service",
        "payments",
        "--password-env",
        "ALICE_PASSWORD",
        "--token",
        stdout=out,
    )
    token = out.getvalue().strip().splitlines()[-1]
    assert client.login(username="alice", password="a long enough password")
    client.logout()
    from tests.factories import ScriptFactory

    ScriptFactory(service="payments")
    ScriptFactory(service="checkout-api")
    response = client.get("/api/generative-remediation/scripts", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert [s["service"] for s in response.json()["results"]] == ["payments"]  # scoped to its service
