"""Behaviour of the local sandbox a caller relies on: results, limits, live output, the CLI."""

from __future__ import annotations

import json
import time

import pytest

from sandbox import SandboxLimits, SandboxResult, SandboxUnavailable, cli, local, parse_memory, run_in_sandbox

pytestmark = pytest.mark.usefixtures("bwrap_available")

QUICK = SandboxLimits(wall_seconds=10)


def test_bash_exit_code_and_streams_are_the_scripts_own() -> None:
    result = run_in_sandbox("echo out; echo err >&2; exit 7", language="bash", limits=QUICK)

    assert result.exit_code == 7
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"
    assert result.killed_reason is None and not result.timed_out
    assert result.duration_ms > 0 and result.peak_memory_kb > 0


def test_python_runs_with_the_system_interpreter_as_an_unprivileged_user() -> None:
    result = run_in_sandbox(
        "import os, sys\nprint(os.getuid(), os.getcwd(), sys.version_info[0])\nraise SystemExit(3)",
        language="python",
        limits=QUICK,
    )

    assert result.exit_code == 3
    assert result.stdout.split() == ["1000", "/workspace", "3"]


def test_as_dict_has_the_contract_keys() -> None:
    payload = run_in_sandbox("true", language="bash", limits=QUICK).as_dict()

    assert set(cli.CONTRACT_KEYS) <= set(payload)
    assert payload["exit_code"] == 0 and payload["killed_reason"] is None
    json.dumps(payload)  # serialisable as is


def test_on_output_sees_each_line_while_the_script_still_runs() -> None:
    seen: list[tuple[str, str, float]] = []
    started = time.monotonic()

    result = run_in_sandbox(
        "print('first')\nimport sys, time\nprint('oops', file=sys.stderr)\ntime.sleep(1.5)\nprint('second')",
        language="python",
        limits=QUICK,
        on_output=lambda stream, line: seen.append((stream, line, time.monotonic() - started)),
    )

    assert [(stream, line) for stream, line, _ in seen] == [
        ("stdout", "first"),
        ("stderr", "oops"),
        ("stdout", "second"),
    ]
    first_at, second_at = seen[0][2], seen[2][2]
    assert second_at - first_at > 1.0, "the first line must arrive before the script finishes"
    assert result.stdout == "first\nsecond\n"


def test_on_output_gets_a_last_line_without_newline() -> None:
    lines: list[str] = []
    run_in_sandbox("printf 'a\\nb'", language="bash", limits=QUICK, on_output=lambda _s, line: lines.append(line))
    assert lines == ["a", "b"]


def test_env_and_files_reach_the_workspace() -> None:
    result = run_in_sandbox(
        'echo "$GREETING"; cat conf/app.ini; ls -a',
        language="bash",
        limits=QUICK,
        env={"GREETING": "hello there"},
        files={"conf/app.ini": "[main]\nport=80\n"},
    )

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("hello there\n[main]\nport=80\n")


@pytest.mark.parametrize("bad_name", ["/etc/passwd", "../escape", "a/../../b", ""])
def test_files_must_stay_inside_the_workspace(bad_name: str) -> None:
    with pytest.raises(ValueError, match="relative path"):
        run_in_sandbox("true", language="bash", limits=QUICK, files={bad_name: "x"})


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="language"):
        run_in_sandbox("true", language="ruby", limits=QUICK)  # type: ignore[arg-type]


def test_timeout_kills_with_124() -> None:
    result = run_in_sandbox("echo started; sleep 30", language="bash", limits=SandboxLimits(wall_seconds=0.5))

    assert result.exit_code == 124
    assert result.timed_out and result.killed_reason == "timeout"
    assert result.stdout == "started\n"
    assert result.duration_ms < 5000


def test_script_killed_by_a_signal_reports_137_and_the_signal() -> None:
    result = run_in_sandbox("kill -TERM $$", language="bash", limits=QUICK)

    assert (result.exit_code, result.killed_reason, result.signal) == (137, "signal", 15)


def test_output_over_the_budget_is_truncated_and_the_run_stopped() -> None:
    limits = SandboxLimits(wall_seconds=20, max_output_bytes=10_000)
    result = run_in_sandbox("while true; do echo line; done", language="bash", limits=limits)

    assert result.killed_reason == "output_limit" and result.exit_code == 137
    assert result.stdout_truncated and len(result.stdout) == 10_000
    assert result.duration_ms < 10_000


def test_missing_bwrap_raises_with_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "BWRAP_CANDIDATES", ("/nonexistent/bwrap",))
    monkeypatch.setenv("PATH", "/nonexistent")

    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        run_in_sandbox("true", language="bash")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512MB", 512 * 1024**2),
        ("256Mi", 256 * 1024**2),
        ("1G", 1024**3),
        ("1.5GiB", 3 * 512 * 1024**2),
        ("4096", 4096),
        (" 64 kb ", 64 * 1024),
    ],
)
def test_parse_memory_reads_the_usual_spellings(text: str, expected: int) -> None:
    assert parse_memory(text) == expected


@pytest.mark.parametrize("junk", ["", "MB", "12XB", "-5M", "0", "1.5", "ten megabytes", "1e9"])
def test_parse_memory_refuses_junk(junk: str) -> None:
    with pytest.raises(ValueError):
        parse_memory(junk)


def test_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="memory_bytes"):
        SandboxLimits(memory_bytes=0)
    with pytest.raises(ValueError, match="wall_seconds"):
        SandboxLimits(wall_seconds=-1)


# ----------------------------------------------------------------------------------------- CLI


def test_cli_json_output_and_exit_code(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "fix.py"
    script.write_text("print('restarted')\nraise SystemExit(4)\n")

    code = cli.main([str(script), "--language", "python", "--format", "json", "--timeout", "10"])

    payload = json.loads(capsys.readouterr().out)
    assert code == 4
    assert list(payload)[: len(cli.CONTRACT_KEYS)] == list(cli.CONTRACT_KEYS)
    assert payload["exit_code"] == 4 and payload["stdout"] == "restarted\n"


def test_cli_timeout_and_memory_options_bind(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    sleeper = tmp_path / "sleep.sh"
    sleeper.write_text("sleep 20\n")
    assert cli.main([str(sleeper), "--language", "bash", "--timeout", "0.5", "--format", "json"]) == 124
    assert json.loads(capsys.readouterr().out)["timed_out"] is True

    hog = tmp_path / "hog.py"
    hog.write_text("blocks = []\nwhile True:\n    blocks.append(bytearray(8 * 1024 * 1024))\n")
    assert cli.main([str(hog), "--language", "python", "--memory", "64MB", "--format", "json"]) == 137
    payload = json.loads(capsys.readouterr().out)
    assert payload["killed_reason"] == "memory"
    assert payload["peak_memory_kb"] <= 64 * 1024 + 16 * 1024


def test_cli_text_format_prints_the_scripts_output(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "ok.sh"
    script.write_text("echo fine\n")

    assert cli.main([str(script), "--language", "bash"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "fine\n"
    assert "exit 0" in captured.err


@pytest.mark.parametrize(
    "argv",
    [
        ["--language", "bash"],
        ["x.sh", "--language", "ruby"],
        ["x.sh"],
        ["x.sh", "--language", "bash", "--memory", "lots"],
        ["x.sh", "--language", "bash", "--timeout", "-3"],
        ["x.sh", "--language", "bash", "--format", "yaml"],
    ],
)
def test_cli_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_cli_unreadable_file_exits_2(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([str(tmp_path / "missing.sh"), "--language", "bash"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_cli_reads_limits_from_the_product_settings(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MAX_SCRIPT_EXECUTION_TIME", "0.5")
    script = tmp_path / "slow.sh"
    script.write_text("sleep 20\n")

    assert cli.main([str(script), "--language", "bash", "--format", "json"]) == 124
    monkeypatch.setenv("SCRIPT_EXECUTION_MEMORY_LIMIT", "plenty")
    assert cli.main([str(script), "--language", "bash"]) == 2


def test_result_dataclass_defaults_do_not_claim_truncation() -> None:
    result = SandboxResult(0, False, None, "", "", 1.0, 1)
    assert not result.stdout_truncated and not result.stderr_truncated
