"""Access scope: what a bash or Python script touches against the service's allow-lists (issue 3).

The rule tables' own examples (bash and Python ``SCOPE_RULES``) run here with the context they name,
and again with empty lists, where no scope rule may fire. The rest are behaviours a reviewer relies
on, written without the corpora.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from remediation.validation import validate_script
from remediation.validation.bash import analyse_commands
from remediation.validation.bash_rules import SCOPE_EXAMPLE_CONTEXT as BASH_CONTEXT
from remediation.validation.bash_rules import SCOPE_RULES as BASH_SCOPE_RULES
from remediation.validation.bash_rules import scope_catalogue_markdown
from remediation.validation.bash_scope import TouchedPath, path_in_scope, resolve_path
from remediation.validation.python_rules import SCOPE_EXAMPLE_CONTEXT as PYTHON_CONTEXT
from remediation.validation.python_rules import SCOPE_RULES as PYTHON_SCOPE_RULES
from remediation.validation.types import Severity, TargetSystem, ValidationContext

UNLISTED = ValidationContext(target_system=TargetSystem.LINUX)


def _bash_ids(text: str, context: ValidationContext) -> set[str]:
    return {f.rule_id for f in analyse_commands(text, context)}


def _python(text: str, context: ValidationContext) -> set[str]:
    return {f.rule_id for f in validate_script(text, language="python", context=context).findings}


# -- the rule tables' examples ------------------------------------------------------------------

_BASH_MATCH = [(r, e) for r, spec in BASH_SCOPE_RULES.items() for e in spec.match]
_BASH_NOT_MATCH = [(r, e) for r, spec in BASH_SCOPE_RULES.items() for e in spec.not_match]
_PY_MATCH = [(r, e) for r, doc in PYTHON_SCOPE_RULES.items() for e in doc.must_match]
_PY_NOT_MATCH = [(r, e) for r, doc in PYTHON_SCOPE_RULES.items() for e in doc.must_not_match]


@pytest.mark.parametrize(("rule_id", "example"), _BASH_MATCH, ids=[f"{r}:{e[:30]}" for r, e in _BASH_MATCH])
def test_bash_scope_rule_matches_its_example_when_lists_are_set(rule_id: str, example: str) -> None:
    assert rule_id in _bash_ids(example, BASH_CONTEXT)


@pytest.mark.parametrize(("rule_id", "example"), _BASH_MATCH, ids=[f"{r}:{e[:30]}" for r, e in _BASH_MATCH])
def test_bash_scope_rules_are_silent_without_lists(rule_id: str, example: str) -> None:
    assert not {r for r in _bash_ids(example, UNLISTED) if r.startswith("scope.")}


@pytest.mark.parametrize(("rule_id", "example"), _BASH_NOT_MATCH, ids=[f"{r}:{e[:30]}" for r, e in _BASH_NOT_MATCH])
def test_bash_scope_rule_ignores_its_counter_example(rule_id: str, example: str) -> None:
    assert rule_id not in _bash_ids(example, BASH_CONTEXT)


@pytest.mark.parametrize(("rule_id", "example"), _PY_MATCH, ids=[f"{r}:{i}" for i, (r, _) in enumerate(_PY_MATCH)])
def test_python_scope_rule_matches_its_example_when_lists_are_set(rule_id: str, example: str) -> None:
    assert rule_id in _python(example, PYTHON_CONTEXT)


@pytest.mark.parametrize(("rule_id", "example"), _PY_MATCH, ids=[f"{r}:{i}" for i, (r, _) in enumerate(_PY_MATCH)])
def test_python_scope_rules_are_silent_without_lists(rule_id: str, example: str) -> None:
    assert not {r for r in _python(example, UNLISTED) if r.startswith("scope.")}


@pytest.mark.parametrize(
    ("rule_id", "example"), _PY_NOT_MATCH, ids=[f"{r}:{i}" for i, (r, _) in enumerate(_PY_NOT_MATCH)]
)
def test_python_scope_rule_ignores_its_counter_example(rule_id: str, example: str) -> None:
    assert rule_id not in _python(example, PYTHON_CONTEXT)


def test_bash_scope_section_of_the_catalogue_is_in_sync() -> None:
    """Regenerate with python -m remediation.validation.bash_rules and paste over the section."""
    doc = (Path(__file__).parents[2] / "docs" / "rules" / "bash.md").read_text()
    assert scope_catalogue_markdown() in doc


# -- behaviour ------------------------------------------------------------------------------------


def _only(**lists: tuple[str, ...]) -> ValidationContext:
    return ValidationContext(target_system=TargetSystem.LINUX, **lists)  # type: ignore[arg-type]


def test_each_list_only_drives_its_own_rule() -> None:
    script = (
        "rm -f /etc/app.conf\ncurl -fsS https://other.example/x\n"
        "kubectl rollout restart deploy/web -n other\npsql -d billing -c 'SELECT 1'\n"
    )
    assert {r for r in _bash_ids(script, _only(allowed_paths=("/opt/app",))) if r.startswith("scope.")} == {
        "scope.path"
    }
    assert {r for r in _bash_ids(script, _only(allowed_hosts=("api.shop.internal",))) if r.startswith("scope.")} == {
        "scope.host"
    }
    assert {r for r in _bash_ids(script, _only(allowed_namespaces=("shop",))) if r.startswith("scope.")} == {
        "scope.namespace"
    }
    assert {r for r in _bash_ids(script, _only(allowed_databases=("app",))) if r.startswith("scope.")} == {
        "scope.database"
    }


def test_dot_dot_cannot_escape_an_allowed_root() -> None:
    context = _only(allowed_paths=("/opt/app",))
    assert "scope.path" in _bash_ids("rm -rf /opt/app/../../etc/nginx", context)
    assert "scope.path" in _bash_ids('rm -f "/opt/app/$NAME/../../../etc/passwd"', context)
    assert "scope.path" not in _bash_ids("rm -f /opt/app/releases/../current.lock", context)
    # a sibling directory that merely shares the prefix is outside
    assert "scope.path" in _bash_ids("rm -f /opt/application/x", context)


def test_tmp_and_the_scripts_own_mktemp_dirs_are_always_allowed() -> None:
    context = _only(allowed_paths=("/opt/app",))
    script = 'work=$(mktemp -d)\ncp /opt/app/app.conf "$work/app.conf"\necho x > /tmp/marker\nrm -rf "$work"\n'
    assert "scope.path" not in _bash_ids(script, context)


def test_literal_cd_resolves_relative_paths_and_unknown_cwd_fails_closed() -> None:
    context = _only(allowed_paths=("/opt/app",))
    assert "scope.path" not in _bash_ids("cd /opt/app\nrm -f build/stale.lock\n", context)
    assert "scope.path" in _bash_ids("cd /etc\nrm -f nginx/old.conf\n", context)
    assert "scope.path" in _bash_ids("rm -f build/stale.lock\n", context)


def test_dynamic_host_namespace_and_database_fail_closed() -> None:
    context = dataclasses.replace(BASH_CONTEXT)
    ids = _bash_ids('curl -fsS "$URL"\nkubectl delete pod x -n "$NS"\npsql -d "$DB" -c "SELECT 1"\n', context)
    assert {"scope.host", "scope.namespace", "scope.database"} <= ids


def test_loopback_is_always_allowed_and_suffix_entries_match_subdomains() -> None:
    context = _only(allowed_hosts=(".shop.internal",))
    script = "curl -fsS http://127.0.0.1:8080/ready\nnc -z localhost 5432\ncurl -fsS https://api.shop.internal/x\n"
    assert "scope.host" not in _bash_ids(script, context)
    assert "scope.host" in _bash_ids("curl -fsS https://api.shop.internal.evil.example/x", context)


def test_namespace_finding_is_high_like_the_kubernetes_validator() -> None:
    result = validate_script(
        "#!/bin/bash\nkubectl rollout restart deployment/web -n payments\n",
        language="bash",
        context=_only(allowed_namespaces=("shop",)),
    )
    finding = next(f for f in result.findings if f.rule_id == "scope.namespace")
    assert finding.severity is Severity.HIGH
    assert finding.line == 2
    assert "payments" in finding.message and finding.hint
    assert not result.passed


def test_scope_findings_fail_at_high_strictness_and_pass_at_medium() -> None:
    text = "#!/bin/bash\nrm -f /etc/nginx/conf.d/old.conf\n"
    context = _only(allowed_paths=("/opt/app",))
    assert not validate_script(text, language="bash", context=context).passed
    relaxed = dataclasses.replace(context, strictness=context.strictness.MEDIUM)
    assert validate_script(text, language="bash", context=relaxed).passed


def test_embedded_code_inherits_the_lists() -> None:
    context = _only(allowed_paths=("/opt/app",))
    ids = _bash_ids("bash -c 'rm -f /etc/app.conf'", context)
    assert "scope.path" in ids
    result = validate_script(
        "#!/bin/bash\npython3 - <<'EOF'\nopen('/etc/app.conf', 'w').write('x')\nEOF\n",
        language="bash",
        context=context,
    )
    assert any(f.rule_id == "scope.path" and f.line == 2 for f in result.findings)


def test_python_subprocess_argv_is_judged_with_the_lists() -> None:
    context = _only(allowed_namespaces=("shop",), allowed_paths=("/opt/app",))
    ids = _python(
        "import subprocess\nsubprocess.run(['kubectl', 'scale', 'deploy/web', '--replicas=3', '-n', 'other'])\n",
        context,
    )
    assert "scope.namespace" in ids
    # a run-time path is judged by its literal directory
    ok = "import subprocess, sys\nsubprocess.run(['rm', '-f', '/opt/app/' + sys.argv[1]], check=True)\n"
    assert "scope.path" not in _python(ok, context)
    assert "scope.path" in _python(ok.replace("/opt/app/", "/etc/"), context)


def test_python_host_in_fstring_is_judged_by_its_literal_head() -> None:
    context = _only(allowed_hosts=("api.shop.internal",))
    head = "import requests\nn = 1\n"
    assert "scope.host" not in _python(head + "requests.get(f'https://api.shop.internal/{n}', timeout=5)", context)
    assert "scope.host" in _python(head + "requests.get(f'https://{n}.other.example/', timeout=5)", context)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/opt/app/x", TouchedPath("/opt/app/x")),
        ("/opt/app//./x/../y", TouchedPath("/opt/app/y")),
        ("/var/log/app/\ufffd.log", TouchedPath("/var/log/app", exact=False)),
        ("\ufffd/cache", TouchedPath(None)),
        ("relative/x", TouchedPath(None)),
    ],
)
def test_resolve_path(text: str, expected: TouchedPath) -> None:
    assert resolve_path(text) == expected


def test_allowed_roots_may_be_globs_and_slash_allows_everything() -> None:
    assert path_in_scope(TouchedPath("/srv/app-7/data"), ("/srv/app-*",))
    assert not path_in_scope(TouchedPath("/srv/other/data"), ("/srv/app-*",))
    assert path_in_scope(TouchedPath("/etc/x"), ("/",))
