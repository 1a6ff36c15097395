"""Cross-language checks: secrets, egress, time budget, invisible characters."""

from __future__ import annotations

import pytest

from remediation.validation import Language, TargetSystem, ValidationContext
from remediation.validation.common import cross_language_findings, host_allowed

CTX = ValidationContext(target_system=TargetSystem.LINUX)
LISTED = ValidationContext(target_system=TargetSystem.LINUX, allowed_hosts=("api.internal.corp", "*.svc.corp"))

# rule_id -> (language, context, texts that must match, texts that must not match)
RULE_EXAMPLES: dict[str, tuple[Language, ValidationContext, list[str], list[str]]] = {
    "secrets.aws_key": (
        Language.BASH,
        CTX,
        ["export AWS_ACCESS_KEY_ID=AKIAZ7QW3ERT5YUI9OPA", "# key AKIAZ7QW3ERT5YUI9OPA"],
        ["export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", 'aws s3 ls --profile "$PROFILE"'],
    ),
    "secrets.private_key": (
        Language.PYTHON,
        CTX,
        ['KEY = """-----BEGIN RSA PRIVATE KEY-----', "-----BEGIN OPENSSH PRIVATE KEY-----"],
        ["-----BEGIN PUBLIC KEY-----", "ssh-keygen -t ed25519 -f /tmp/k"],
    ),
    "secrets.token": (
        Language.BASH,
        CTX,
        [
            "curl -H 'Authorization: token ghp_0123456789abcdefghijABCDEFGHIJ0123456789' x",
            "SLACK=xoxb-1234567890-abcdefghijkl",
            "OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwx1234",
        ],
        ['curl -H "Authorization: token $GITHUB_TOKEN" x', "echo sk-short"],
    ),
    "secrets.bearer_token": (
        Language.BASH,
        CTX,
        ["curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc' http://localhost"],
        ['curl -H "Authorization: Bearer $TOKEN" http://localhost', "Bearer <token>"],
    ),
    "secrets.url_credentials": (
        Language.BASH,
        CTX,
        ["psql postgres://admin:hunter22@db.internal/app"],
        ["psql postgres://admin:${PGPASS}@db.internal/app", "# e.g. postgres://user:pass@localhost/db"],
    ),
    "secrets.password_literal": (
        Language.CONFIG_PATCH,
        CTX,
        ["+DB_PASSWORD=Sup3rS3cret!", "+  password: hunter2hunter2", "+requirepass s3cr3tvalue"],
        [
            "+DB_PASSWORD_FILE=/run/secrets/db",
            "+  password: ${DB_PASSWORD}",
            "-DB_PASSWORD=removed-old-secret",
            "+password_encryption = scram-sha-256",
        ],
    ),
    "secrets.high_entropy": (
        Language.BASH,
        CTX,
        ["export API_TOKEN=q8Zr2xT5vLw9Kp3sNe7uYb1c"],
        ["export API_TOKEN=$(cat /run/secrets/token)", "SECRET_NAME=db-credentials-production"],
    ),
    "egress.metadata": (
        Language.BASH,
        CTX,
        ["curl http://169.254.169.254/latest/meta-data/iam/", "wget -qO- http://metadata.google.internal/x"],
        ["curl http://127.0.0.1:8080/healthz", "# never call 169.254.169.254 from here"],
    ),
    "egress.unlisted_host": (
        Language.BASH,
        LISTED,
        ["curl https://evil.example.net.attacker.io/x", "nc 203.0.113.9 4444"],
        [
            "curl http://localhost:8080/healthz",
            "curl https://api.internal.corp/v1/status",
            "curl http://web.shop.svc.corp/ready",
            "kubectl --server https://kubernetes.default.svc get pods",
            "curl http://127.0.0.1/",
        ],
    ),
    "budget.time": (
        Language.BASH,
        CTX,
        ["sleep 3600", "kubectl rollout status deploy/web --timeout=10m", "timeout 900 ./migrate.sh"],
        ["sleep 5", "kubectl rollout status deploy/web --timeout=120s", "timeout 60 ./migrate.sh"],
    ),
    "syntax.invisible_characters": (
        Language.PYTHON,
        CTX,
        ['access = "user\u202e \u2066# admin\u2069"', "rm\u200b -rf /tmp/x"],
        ["print('héllo wörld')", "# ascii only"],
    ),
}


def _rule_ids(text: str, language: Language, context: ValidationContext) -> set[str]:
    return {f.rule_id for f in cross_language_findings(text, language=language, context=context)}


@pytest.mark.parametrize("rule_id", sorted(RULE_EXAMPLES))
def test_rule_matches_its_examples(rule_id: str) -> None:
    language, context, positives, negatives = RULE_EXAMPLES[rule_id]
    for text in positives:
        assert rule_id in _rule_ids(text, language, context), f"{rule_id} should match {text!r}"
    for text in negatives:
        assert rule_id not in _rule_ids(text, language, context), f"{rule_id} should not match {text!r}"


def test_secret_is_never_echoed_in_the_message() -> None:
    secret = "Sup3rS3cretValue!"
    findings = cross_language_findings(f"DB_PASSWORD={secret}", language=Language.BASH, context=CTX)
    assert findings
    assert all(secret not in f.message and secret not in f.hint for f in findings)


def test_findings_carry_one_based_lines() -> None:
    text = "echo ok\necho fine\ncurl http://169.254.169.254/\n"
    findings = cross_language_findings(text, language=Language.BASH, context=CTX)
    assert [f.line for f in findings if f.rule_id == "egress.metadata"] == [3]


def test_egress_without_allow_list_only_flags_metadata() -> None:
    text = "curl https://downloads.vendor.io/pkg.tgz\n"
    assert "egress.unlisted_host" not in _rule_ids(text, Language.BASH, CTX)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [("api.internal.corp", True), ("x.svc.corp", True), ("svc.corp", True), ("evilsvc.corp", False)],
)
def test_host_allowed_wildcards(host: str, allowed: bool) -> None:
    assert host_allowed(host, LISTED.allowed_hosts) is allowed
