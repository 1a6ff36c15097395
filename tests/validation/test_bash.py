"""Bash validator: rule examples, corpus recall/false positives, embedded code, bad input, speed."""

from __future__ import annotations

import sys
import time
import types
from pathlib import Path

import pytest

from remediation.validation import validate_script
from remediation.validation.bash import analyse_commands, validate
from remediation.validation.bash_rules import RULES
from remediation.validation.types import (
    Finding,
    LanguageReport,
    Severity,
    Strictness,
    TargetSystem,
    ValidationContext,
    ValidationResult,
)

CORPUS = Path(__file__).parent / "corpus" / "bash"
CONTEXT = ValidationContext(target_system=TargetSystem.LINUX)


def _bash(text: str, strictness: Strictness = Strictness.HIGH) -> ValidationResult:
    context = ValidationContext(target_system=TargetSystem.LINUX, strictness=strictness)
    return validate_script(text, language="bash", context=context)


def _rule_ids(text: str) -> set[str]:
    return {f.rule_id for f in analyse_commands(text, CONTEXT)}


_MATCH = [(rule_id, example) for rule_id, spec in RULES.items() for example in spec.match]
_NOT_MATCH = [(rule_id, example) for rule_id, spec in RULES.items() for example in spec.not_match]


@pytest.mark.parametrize(("rule_id", "example"), _MATCH, ids=[f"{r}:{e[:30]}" for r, e in _MATCH])
def test_rule_matches_its_example(rule_id: str, example: str) -> None:
    assert rule_id in _rule_ids(example)


@pytest.mark.parametrize(("rule_id", "example"), _NOT_MATCH, ids=[f"{r}:{e[:30]}" for r, e in _NOT_MATCH])
def test_rule_ignores_its_counter_example(rule_id: str, example: str) -> None:
    assert rule_id not in _rule_ids(example)


def test_every_rule_has_examples_both_ways() -> None:
    lacking = [r for r, spec in RULES.items() if r != "embedded.unvalidated" and (not spec.match or not spec.not_match)]
    assert lacking == []


# -- corpus -----------------------------------------------------------------------------------


def _corpus(kind: str) -> list[Path]:
    return sorted((CORPUS / kind).glob("*.sh"))


def test_corpus_is_large_enough() -> None:
    dangerous = _corpus("dangerous")
    assert len(dangerous) >= 45
    assert len([p for p in dangerous if p.name.startswith("obf_")]) >= 15
    assert len(_corpus("legitimate")) >= 35


def test_recall_on_dangerous_corpus() -> None:
    files = _corpus("dangerous")
    misses = [p.name for p in files if _bash(p.read_text()).passed]
    print("dangerous scripts that passed:", misses)
    assert 1 - len(misses) / len(files) >= 0.97, misses


def test_false_positive_rate_on_legitimate_corpus() -> None:
    files = _corpus("legitimate")
    flagged = {}
    for path in files:
        result = _bash(path.read_text())
        if not result.passed:
            flagged[path.name] = [(f.rule_id, f.message) for f in result.findings if f.fails_at(Strictness.HIGH)]
    print("legitimate scripts that failed:", flagged)
    assert len(flagged) / len(files) <= 0.03, flagged


# -- behaviour a reviewer relies on -----------------------------------------------------------


def test_finding_names_line_message_and_hint() -> None:
    result = _bash("#!/bin/bash\necho start\nrm -rf /\n")
    finding = next(f for f in result.findings if f.rule_id == "bash.rm_root")
    assert finding.severity is Severity.CRITICAL
    assert finding.line == 3
    assert "root filesystem" in finding.message
    assert finding.hint


def test_unparsable_script_fails_with_syntax_rule() -> None:
    result = _bash("if true; then\n  echo 'unterminated\n")
    assert not result.passed
    assert any(f.rule_id.startswith("syntax") and f.severity is Severity.CRITICAL for f in result.findings)


def test_dangerous_text_in_data_is_not_a_command() -> None:
    result = _bash('echo "never run rm -rf /"\ngrep -rn "rm -rf" scripts/ || true\n# rm -rf /\n')
    assert result.passed, result.findings


def test_shellcheck_findings_are_mapped_and_raise_rm_severity() -> None:
    result = _bash('#!/bin/bash\nrm -rf "$STEAMROOT/"*\n')
    ids = {f.rule_id: f for f in result.findings}
    assert "shellcheck.SC2115" in ids
    assert ids["bash.rm_unguarded_var"].severity is Severity.CRITICAL


def test_style_lint_alone_does_not_fail_a_script() -> None:
    result = _bash("#!/bin/bash\nfor f in $(ls /var/log/app); do echo $f; done\n")
    assert any(f.rule_id.startswith("shellcheck.SC") for f in result.findings)
    assert result.passed


def test_strictness_low_only_fails_on_critical() -> None:
    text = "#!/bin/bash\nsystemctl stop nginx\n"
    assert not _bash(text, Strictness.HIGH).passed
    assert _bash(text, Strictness.LOW).passed
    assert not _bash("rm -rf /\n", Strictness.LOW).passed


def test_side_effects_and_versions_are_reported() -> None:
    result = _bash(
        "#!/bin/bash\nfind /var/cache/checkout -type f -mtime +3 -delete\nsystemctl restart nginx\n"
        "kubectl rollout restart deployment/web -n prod\n"
    )
    assert "deletes files under /var/cache/checkout older than 3 days" in result.side_effects
    assert "restarts systemd unit nginx" in result.side_effects
    assert any("rollout restart" in s for s in result.side_effects)
    assert set(result.validator_versions) >= {"tree-sitter-bash", "shellcheck"}
    assert result.validator_versions["shellcheck"] != "unavailable"


@pytest.mark.parametrize(
    "text",
    [
        "bash -c 'rm -rf /'",
        "sh <<'EOF'\nrm -rf /\nEOF",
        "eval 'rm -rf /'",
        "trap 'rm -rf /' EXIT",
        "ssh db1 'rm -rf /'",
        "su -c 'rm -rf /' root",
        "(crontab -l; echo '0 * * * * rm -rf /') | crontab -",
    ],
)
def test_embedded_bash_is_validated_as_bash(text: str) -> None:
    assert "bash.rm_root" in _rule_ids(text)


def test_embedded_other_language_goes_through_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str]] = []

    def fake_python_validator(text: str, context: ValidationContext) -> LanguageReport:
        seen.append(("python", text))
        return LanguageReport(findings=[Finding("python.fake", Severity.HIGH, "fake finding", 1, "")])

    module = types.ModuleType("remediation.validation.python")
    module.validate = fake_python_validator  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "remediation.validation.python", module)
    result = _bash("#!/bin/bash\necho start\npython3 - <<'EOF'\nprint('hi')\nEOF\n")
    assert seen == [("python", "print('hi')\n")]
    finding = next(f for f in result.findings if f.rule_id == "python.fake")
    assert finding.line == 3


def test_missing_language_validator_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "remediation.validation.sql", None)  # import raises ImportError
    result = _bash("psql -c 'SELECT 1'\n")
    assert any(f.rule_id == "embedded.unvalidated" and f.severity is Severity.MEDIUM for f in result.findings)


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("binary", bytes(range(1, 256)).decode("latin-1") * 50),
        ("nested_subst", "echo " + "$(" * 10_000 + "x" + ")" * 10_000),
        ("deep_if", "if true; then " * 3000 + "echo x; " + "fi; " * 3000),
        ("unterminated_single", "echo 'abc\nrm -rf /\n"),
        ("unterminated_double", 'echo "abc\n'),
        ("unterminated_heredoc", "cat <<EOF\nabc\n"),
        ("brace_bomb", "echo " + "{a,b}" * 40),
        ("lone_surrogate", "echo \udcff\n"),
    ],
)
def test_bad_input_fails_closed_quickly(name: str, text: str) -> None:
    started = time.perf_counter()
    report = validate(text, CONTEXT)
    assert time.perf_counter() - started < 5, name
    assert any(f.severity.rank >= Severity.MEDIUM.rank for f in report.findings), name


def test_oversized_input_is_refused_by_the_engine() -> None:
    result = _bash("echo hi\n" * (5 * 1024 * 1024 // 8))
    assert [f.rule_id for f in result.findings] == ["syntax.too_large"]


def test_rule_catalogue_documents_every_rule() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "rules" / "bash.md").read_text()
    missing = [rule_id for rule_id in RULES if f"`{rule_id}`" not in doc]
    assert missing == []


def test_scope_findings_carry_the_catalogue_severity_and_hint() -> None:
    from remediation.validation.bash_rules import SCOPE_RULES

    context = ValidationContext(target_system=TargetSystem.LINUX, allowed_paths=("/opt/app",))
    finding = next(
        f for f in analyse_commands("echo x\ntee /etc/app.conf < /dev/null\n", context) if f.rule_id == "scope.path"
    )
    assert finding.severity is SCOPE_RULES["scope.path"].severity
    assert finding.hint == SCOPE_RULES["scope.path"].hint
    assert finding.line == 2
    assert "/etc/app.conf" in finding.message
