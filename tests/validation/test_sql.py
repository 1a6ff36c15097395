"""SQL validator: every rule's examples, the corpus, hostile input and speed."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from remediation.validation import Strictness, TargetSystem, ValidationContext, sql, validate_script
from remediation.validation.sql_rules import EXAMPLE_ALLOWED_DATABASES, INTRO, RULES, catalogue_markdown
from tests.validation.corpus_helpers import corpus_rates

CORPUS = Path(__file__).parent / "corpus" / "sql"
SOURCES = [Path(__file__).parents[2] / "remediation" / "validation" / name for name in ("sql.py", "sql_psql.py")]
PG = TargetSystem.POSTGRESQL


def _check(text: str, **context: object):
    return validate_script(text, language="sql", context=ValidationContext(target_system=PG, **context))  # type: ignore[arg-type]


def _rule_ids(text: str) -> set[str]:
    result = _check(text, allowed_databases=EXAMPLE_ALLOWED_DATABASES)
    return {f.rule_id for f in result.findings}


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
    source = "\n".join(path.read_text() for path in SOURCES)
    emitted = set(re.findall(r'"((?:sql|syntax)\.[a-z_]+)"', source)) - {"sql.create_", "sql.drop_"}
    missing = emitted - set(RULES)
    assert not missing, f"rules without catalogue entries: {sorted(missing)}"
    untested = [r for r, doc in RULES.items() if not doc.must_match and r != "sql.validator_error"]
    assert not untested


def test_rules_are_documented_for_supervisors() -> None:
    """docs/rules/sql.md is the catalogue rendered; regenerate with python -m remediation.validation.sql_rules."""
    doc = (Path(__file__).parents[2] / "docs" / "rules" / "sql.md").read_text()
    assert doc == catalogue_markdown("SQL (PostgreSQL) validator rules", INTRO, RULES)


def test_corpus_recall_and_false_positives_at_high() -> None:
    dangerous = sorted((CORPUS / "dangerous").glob("*.sql"))
    assert len(dangerous) >= 35
    assert len([p for p in dangerous if p.name.startswith("hidden_")]) >= 8
    assert len(sorted((CORPUS / "legitimate").glob("*.sql"))) >= 25
    recall, false_positive_rate, misses = corpus_rates("sql", "sql", "postgresql")
    print("SQL corpus misses:", misses)
    assert recall >= 0.97, misses
    assert false_positive_rate <= 0.03, misses


def test_findings_carry_line_hint_and_message() -> None:
    result = _check("SELECT 1;\n\n-- cleanup\nDELETE FROM users;\n")
    finding = next(f for f in result.findings if f.rule_id == "sql.delete_without_where")
    assert finding.line == 4
    assert finding.severity.value == "critical"
    assert "users" in finding.message
    assert "WHERE" in finding.hint


def test_statement_inside_do_block_reports_its_own_line() -> None:
    result = _check("DO $$\nBEGIN\n  RAISE NOTICE 'x';\n  DROP TABLE sessions;\nEND\n$$;\n")
    assert [f.line for f in result.findings if f.rule_id == "sql.drop_table"] == [4]


def test_side_effects_describe_what_changes() -> None:
    result = _check(
        "SET lock_timeout = '5s';\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON public.orders (customer_id);\n"
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle in transaction' "
        "AND state_change < now() - interval '10 minutes' AND pid <> pg_backend_pid();\n"
    )
    assert result.passed
    assert "creates index orders_customer_id_idx on public.orders (CONCURRENTLY)" in result.side_effects
    assert any(e.startswith("terminates idle in transaction sessions") for e in result.side_effects)


def test_versions_name_the_parser() -> None:
    versions = _check("SELECT 1").validator_versions
    assert re.fullmatch(r"\d+\.\d+.*", versions["pglast"])
    assert re.fullmatch(r"\d+\.\d+", versions["libpg_query"])


def test_strictness_decides_which_severities_fail() -> None:
    blocking_index = "SET lock_timeout = '5s'; CREATE INDEX i ON orders (created_at);"  # high
    assert not _check(blocking_index, strictness=Strictness.MEDIUM).passed
    assert _check(blocking_index, strictness=Strictness.LOW).passed
    assert not _check("DELETE FROM users", strictness=Strictness.LOW).passed
    named_slot = "SELECT pg_drop_replication_slot('old_etl_slot');"
    assert _check(named_slot).passed


def test_meta_command_text_inside_literals_is_not_a_meta_command() -> None:
    result = _check("SELECT E'\\\\! rm -rf /', 'a\\gexec', $$ \\o |sh $$;")
    assert result.passed, result.findings


def test_psql_variables_set_in_the_script_are_substituted() -> None:
    result = _check("\\set days 30\nDELETE FROM sessions WHERE created_at < now() - (:'days' || ' days')::interval;")
    assert result.passed, result.findings


def test_connect_outside_allowed_databases_is_a_finding() -> None:
    assert not _check("\\connect billing\nSELECT 1;", allowed_databases=("app",)).passed
    assert _check("\\connect billing\nSELECT 1;").passed  # no scope known: no scope finding


@pytest.mark.parametrize(
    "junk",
    [
        "\x01\x02\xff\xfe garbage ;;; \\\\ $$",
        "SELECT " + "(" * 3000 + "1" + ")" * 3000,
        "SELECT " + "(" * 100_000,
        "DO $$ BEGIN " + "BEGIN " * 2000 + "END; " * 2000 + "END $$",
        "SELECT '" + "x" * 100_000,
        "$$" * 10_000,
        "/* " * 10_000,
        "\\" * 5000,
        "SELECT 1 " + "UNION SELECT 1 " * 20_000,
        "SELECT " + "1 + " * 20_000 + "1",
        "DO $$ BEGIN EXECUTE 'DO $x$ BEGIN EXECUTE ''DO $y$ BEGIN DROP TABLE t; END $y$''; END $x$'; END $$",
    ],
    ids=[
        "binary",
        "nested-3000",
        "unbalanced",
        "nested-plpgsql",
        "open-quote",
        "dollars",
        "comments",
        "backslashes",
        "union-20000",
        "long-expression",
        "nested-do",
    ],
)
def test_hostile_input_never_raises_or_hangs(junk: str) -> None:
    # The SQL validator itself, not the engine: the engine's cross-language checks are another module.
    started = time.perf_counter()
    report = sql.validate(junk, ValidationContext(target_system=PG))
    assert time.perf_counter() - started < 5
    assert not any(f.rule_id == "sql.validator_error" for f in report.findings)


def test_thousands_of_statements_are_refused_quickly() -> None:
    started = time.perf_counter()
    report = sql.validate("SELECT 1; -- x\n" * 30_000, ValidationContext(target_system=PG))
    assert time.perf_counter() - started < 5
    assert [f.rule_id for f in report.findings] == ["sql.too_many_statements"]


def test_one_megabyte_of_selects_is_refused_by_the_size_cap() -> None:
    result = _check("SELECT 1;\n" * 110_000)
    assert not result.passed
    assert [f.rule_id for f in result.findings] == ["syntax.too_large"]


def test_byte_order_mark_crlf_and_lone_surrogates() -> None:
    crlf = _check("\ufeffSELECT 1;\r\nDELETE FROM t;\r\n")
    assert [(f.rule_id, f.line) for f in crlf.findings if f.rule_id == "sql.delete_without_where"] == [
        ("sql.delete_without_where", 2)
    ]
    surrogate = sql.validate("SELECT '\udc80'", ValidationContext(target_system=PG))
    assert [f.rule_id for f in surrogate.findings] == ["syntax.sql"]
