"""Each benchmark script runs end to end with --quick and prints its table.

Smoke only: the figures depend on the machine and its load, so nothing here looks at a timing. What
is checked is what a person running the benchmark would notice: it exits 0, prints a table with the
expected columns and one row per language / publisher, and --quick leaves the committed result files
alone.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / "benchmarks"


def _run_quick(name: str, *extra: str) -> str:
    results = sorted((BENCHMARKS / "results").glob("*.json"))
    before = {path: path.read_bytes() for path in results}
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), "--quick", *extra],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {path: path.read_bytes() for path in results} == before, "--quick must not rewrite results/"
    return proc.stdout


def _table_rows(output: str) -> list[list[str]]:
    lines = [line for line in output.splitlines() if line.startswith("|") and not line.startswith("|-")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_validation_speed_quick_prints_one_row_per_language() -> None:
    rows = _table_rows(_run_quick("validation_speed.py"))
    assert rows[0][:7] == ["language", "files", "median ms", "p95 ms", "max ms", "recall", "FP rate"]
    assert [row[0] for row in rows[1:]] == ["bash", "python", "sql", "kubernetes", "config_patch"]
    # --quick takes 3 dangerous and 3 legitimate files of each language.
    assert all(row[1] == "6" for row in rows[1:])


def test_sandbox_overhead_quick_compares_bare_and_sandboxed_runs() -> None:
    if not Path("/usr/bin/bwrap").exists():
        pytest.skip("bubblewrap is not installed")
    rows = _table_rows(_run_quick("sandbox_overhead.py"))
    assert rows[0][:3] == ["language", "runs", "bare median"]
    assert "sandbox median" in rows[0] and "added median" in rows[0]
    assert [row[0] for row in rows[1:]] == ["bash", "python"]


def test_live_log_stream_quick_delivers_the_lines_on_the_in_memory_layer() -> None:
    if not Path("/usr/bin/bwrap").exists():
        pytest.skip("bubblewrap is not installed")
    output = _run_quick("live_log_stream.py", "--layer", "memory")
    assert "InMemoryChannelLayer" in output
    rows = _table_rows(output)
    assert rows[0][:6] == ["layer", "publisher", "lines", "total ms", "lines/s", "lost"]
    assert rows[1][:3] == ["memory", "shared-loop", "100"]
    # The in-memory layer holds 100 messages per channel; the reader keeps up, so none may be lost.
    assert rows[1][5] == "0"
