"""Python validator: every rule's examples, the corpus, hostile input and speed."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from remediation.validation import Strictness, TargetSystem, ValidationContext, python, validate_script
from remediation.validation.python_rules import INTRO, RULES
from remediation.validation.sql_rules import catalogue_markdown
from tests.validation.corpus_helpers import corpus_rates

CORPUS = Path(__file__).parent / "corpus" / "python"
VALIDATION = Path(__file__).parents[2] / "remediation" / "validation"
LINUX = TargetSystem.LINUX


def _check(text: str, **context: object):
    return validate_script(text, language="python", context=ValidationContext(target_system=LINUX, **context))  # type: ignore[arg-type]


def _rule_ids(text: str) -> set[str]:
    return {f.rule_id for f in _check(text).findings}


MATCH_CASES = [(rule_id, example) for rule_id, doc in RULES.items() for example in doc.must_match]
NO_MATCH_CASES = [(rule_id, example) for rule_id, doc in RULES.items() for example in doc.must_not_match]


@pytest.mark.parametrize(("rule_id", "example"), MATCH_CASES, ids=[f"{r}:{i}" for i, (r, _) in enumerate(MATCH_CASES)])
def test_rule_matches_its_examples(rule_id: str, example: str) -> None:
    assert rule_id in _rule_ids(example), f"{rule_id} should fire on {example!r}"


@pytest.mark.parametrize(
    ("rule_id", "example"), NO_MATCH_CASES, ids=[f"{r}:{i}" for i, (r, _) in enumerate(NO_MATCH_CASES)]
)
def test_rule_ignores_its_counter_examples(rule_id: str, example: str) -> None:
    assert rule_id not in _rule_ids(example), f"{rule_id} should not fire on {example!r}"


def test_every_rule_in_the_code_is_catalogued_with_examples() -> None:
    source = "\n".join(path.read_text() for path in VALIDATION.glob("python*.py") if path.name != "python_rules.py")
    emitted = set(re.findall(r'"((?:python|syntax)\.[a-z_]+)"', source)) - {"syntax.sql"}
    assert sorted(emitted - set(RULES)) == []
    untested = [
        r
        for r, doc in RULES.items()
        if not doc.must_match and r not in {"python.validator_error", "python.too_complex"}
    ]
    assert untested == []


def test_rules_are_documented_for_supervisors() -> None:
    """docs/rules/python.md is the catalogue rendered; regenerate with python -m remediation.validation.python_rules."""
    doc = (Path(__file__).parents[2] / "docs" / "rules" / "python.md").read_text()
    assert doc == catalogue_markdown("Python validator rules", INTRO, RULES)


def test_corpus_recall_and_false_positives_at_high() -> None:
    dangerous = sorted((CORPUS / "dangerous").glob("*.py"))
    assert len(dangerous) >= 30
    assert len([p for p in dangerous if p.name.startswith("obf_")]) >= 8
    assert len(sorted((CORPUS / "legitimate").glob("*.py"))) >= 25
    recall, false_positive_rate, misses = corpus_rates("python", "py", "linux")
    print("Python corpus misses:", misses)
    assert recall >= 0.97, misses
    assert false_positive_rate <= 0.03, misses


def test_constant_argv_is_judged_as_a_command_line() -> None:
    result = _check("import subprocess\nCMD = ['kubectl', 'delete', 'ns', 'prod']\nsubprocess.run(CMD, check=True)\n")
    assert "python.destructive_command" in {f.rule_id for f in result.findings}
    assert "runs: kubectl delete ns prod" in result.side_effects


def test_embedded_sql_goes_through_the_sql_validator_at_the_python_line() -> None:
    result = _check("import psycopg\nconn = psycopg.connect('dbname=app')\n\nconn.execute('DELETE FROM users')\n")
    finding = next(f for f in result.findings if f.rule_id == "sql.delete_without_where")
    assert finding.line == 4
    assert finding.message.startswith("Embedded SQL")


def test_parameterised_sql_passes_and_lists_its_effect() -> None:
    result = _check(
        "cur.execute('DELETE FROM sessions WHERE created_at < now() - %s::interval LIMIT 1', ('30 days',))\n"
        "cur.execute('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = %(s)s "
        "AND pid <> pg_backend_pid()', {'s': 'idle in transaction'})\n"
    )
    assert not any(f.fails_at(Strictness.HIGH) for f in result.findings), result.findings


def test_bandit_ops_noise_never_fails_and_nosec_is_ignored() -> None:
    noisy = _check("import subprocess\nassert True\nsubprocess.run(['uptime'])\nopen('/tmp/x', 'w')\n")
    assert noisy.passed
    assert any(f.rule_id.startswith("bandit.B") for f in noisy.findings)
    silenced = _check("import pickle\npickle.loads(data)  # nosec\n")
    assert not silenced.passed


def test_findings_carry_line_hint_and_message() -> None:
    result = _check("import shutil\n\n\nshutil.rmtree('/')\n")
    finding = next(f for f in result.findings if f.rule_id == "python.rmtree_root")
    assert (finding.line, finding.severity.value) == (4, "critical")
    assert "'/'" in finding.message
    assert finding.hint


def test_side_effects_and_versions() -> None:
    result = _check("import shutil\nshutil.rmtree('/tmp/job-123')\nopen('/tmp/report.txt', 'w').write('x')\n")
    assert result.passed
    assert "recursively deletes /tmp/job-123" in result.side_effects
    assert "writes /tmp/report.txt" in result.side_effects
    assert set(result.validator_versions) >= {"bandit", "python-ast"}


def test_strictness_decides_which_severities_fail() -> None:
    medium = "import os\nos.system('uptime')\n"
    assert not _check(medium).passed
    assert _check(medium, strictness=Strictness.MEDIUM).passed
    assert not _check("import shutil\nshutil.rmtree('/')", strictness=Strictness.LOW).passed


@pytest.mark.parametrize(
    "junk",
    [
        "\x01\x02\xff garbage )(",
        "x = " + "(" * 5000 + "1" + ")" * 5000,
        "x = " + "1 + " * 50_000 + "1",
        "x = " + "[" * 100_000,
        "def f():\n" + "".join("    " * i + "if x:\n" for i in range(1, 90)) + "    " * 90 + "pass\n",
        "s = '" + "a" * 200_000 + "'\n" + "t = s + s\n" * 50,
        "exec('exec(\"exec(\\'exec(1)\\')\")')",
        "x = 'a' * 10**12\n",
    ],
    ids=["binary", "parens-5000", "long-sum", "unbalanced", "deep-ifs", "big-strings", "nested-exec", "huge-repeat"],
)
def test_hostile_input_never_raises_or_hangs(junk: str) -> None:
    # The Python validator itself; the engine's cross-language checks are another module.
    started = time.perf_counter()
    report = python.validate(junk, ValidationContext(target_system=LINUX))
    assert time.perf_counter() - started < 5
    assert not any(f.rule_id == "python.validator_error" for f in report.findings)


def test_one_megabyte_script_is_refused_by_the_size_cap() -> None:
    result = _check("print('x')\n" * 100_000)
    assert [f.rule_id for f in result.findings] == ["syntax.too_large"]


def test_byte_order_mark_and_crlf_are_ordinary_python() -> None:
    result = _check("\ufeffimport shutil\r\nshutil.rmtree('/')\r\n")
    assert "python.rmtree_root" in {f.rule_id for f in result.findings}


def test_scope_finding_from_a_subprocess_command_points_at_the_python_line() -> None:
    result = _check(
        "import subprocess\n\nsubprocess.run(['psql', '-d', 'billing', '-c', 'SELECT 1'], check=True)\n",
        allowed_databases=("app",),
    )
    finding = next(f for f in result.findings if f.rule_id == "scope.database")
    assert finding.line == 3
    assert "billing" in finding.message
    assert not result.passed
