"""Secrets and personal data are removed from an RCA before it can reach an LLM provider."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from remediation.llm.scrub import Redaction, scrub_rca, scrub_text

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEA7bq98f0Z3c2Ezj1cXc0n6b1Dk2sU1Jz0T6mX5KkQm4Zc9i3v\n"
    "Q5d8XkL0lE1mO0tS2q3r4s5t6u7v8w9x0y1z2A3B4C5D6E7F8G9H0I1J2K3L4M5N\n"
    "-----END RSA PRIVATE KEY-----"
)
PASSWORD = "Tr0ub4dor&3xyz"
BEARER = "abc123DEF456ghi789JKL"
EMAIL = "jane.doe@example.org"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


def rca_with_secrets() -> dict[str, Any]:
    return {
        "root_cause_category": "connection_exhaustion",
        "summary": f"Pool exhausted; on-call {EMAIL} paged.",
        "confidence": 0.8,
        "target_system": "postgresql",
        "evidence": [
            {"kind": "log", "text": f"boto: using credentials {AWS_KEY} for s3 upload"},
            {
                "kind": "log",
                "text": f"loaded key:\n{PRIVATE_KEY}\nfrom /etc/app/tls.key",
            },
            {
                "kind": "log",
                "text": f"connect failed: host=db1 user=app password={PASSWORD} sslmode=require",
            },
            {
                "kind": "trace",
                "text": f"GET /v1/orders Authorization: Bearer {BEARER} -> 503",
            },
            {"kind": "note", "text": f"session cookie {JWT}"},
        ],
        "parameters": {"database": "orders", "idle_minutes": 10},
    }


def test_each_planted_secret_is_replaced_and_reported_where_it_was() -> None:
    scrubbed, redactions = scrub_rca(rca_with_secrets())

    text = json.dumps(scrubbed)
    for secret in (
        AWS_KEY,
        "MIIEowIBAAKCAQEA7bq98f0Z3c2Ezj1cXc0n6b1Dk2sU1Jz0T6mX5KkQm4Zc9i3v",
        PASSWORD,
        BEARER,
        EMAIL,
        JWT,
    ):
        assert secret not in text

    found = {(r.kind, r.path) for r in redactions}
    assert ("email", "summary") in found
    assert ("aws_access_key", "evidence[0].text") in found
    assert ("private_key", "evidence[1].text") in found
    assert ("password", "evidence[2].text") in found
    assert ("bearer_token", "evidence[3].text") in found
    assert ("jwt", "evidence[4].text") in found


def test_replacement_keeps_the_surrounding_text_readable() -> None:
    scrubbed, _ = scrub_rca(rca_with_secrets())
    evidence = scrubbed["evidence"]
    assert evidence[0]["text"] == "boto: using credentials [REDACTED:aws_access_key] for s3 upload"
    assert evidence[1]["text"] == "loaded key:\n[REDACTED:private_key]\nfrom /etc/app/tls.key"
    assert evidence[2]["text"] == "connect failed: host=db1 user=app password=[REDACTED:password] sslmode=require"
    assert evidence[3]["text"] == "GET /v1/orders Authorization: Bearer [REDACTED:bearer_token] -> 503"
    assert scrubbed["summary"] == "Pool exhausted; on-call [REDACTED:email] paged."


def test_redactions_never_contain_the_secret() -> None:
    _, redactions = scrub_rca(rca_with_secrets())
    serialised = repr(redactions)
    for secret in (AWS_KEY, PASSWORD, BEARER, EMAIL, JWT, "BEGIN RSA PRIVATE KEY"):
        assert secret not in serialised


def test_input_is_not_modified() -> None:
    original = rca_with_secrets()
    before = copy.deepcopy(original)
    scrub_rca(original)
    assert original == before


def test_clean_rca_comes_back_unchanged(
    all_example_rcas: dict[str, dict[str, Any]],
) -> None:
    # The sample RCAs carry no secrets: scrubbing must not eat the facts a script needs
    # (paths, namespaces, IPs, ports, index columns).
    for name, rca in all_example_rcas.items():
        scrubbed, redactions = scrub_rca(rca)
        assert redactions == [], name
        assert scrubbed == rca, name


def test_counts_add_up_per_kind_and_place() -> None:
    _, redactions = scrub_rca({"evidence": [{"text": "a@example.com wrote to b@example.com"}]})
    assert redactions == [Redaction(kind="email", path="evidence[0].text", count=2)]


@pytest.mark.parametrize(
    ("key", "value", "kind"),
    [
        ("db_password", "hunter2hunter2", "password"),
        ("DB_PASSWORD", 12345678, "password"),
        ("api_key", "plain-looking-value", "generic_secret"),
        ("client_secret", "xyz", "generic_secret"),
    ],
)
def test_values_under_secret_keys_are_redacted_whatever_they_look_like(key: str, value: Any, kind: str) -> None:
    scrubbed, redactions = scrub_rca({"parameters": {key: value, "database": "orders"}})
    assert scrubbed["parameters"] == {key: f"[REDACTED:{kind}]", "database": "orders"}
    assert redactions == [Redaction(kind=kind, path=f"parameters.{key}", count=1)]


@pytest.mark.parametrize(
    ("text", "kind", "secret"),
    [
        ('{"password": "s3cr3t-value"}', "password", "s3cr3t-value"),
        ("export MYSQL_ROOT_PASSWORD='p@ss w0rd'", "password", "p@ss w0rd"),
        (
            "postgres://app:sup3rs3cret@db.internal:5432/orders",
            "url_credentials",
            "sup3rs3cret",
        ),
        (
            "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "generic_secret",
            "wJalrXUtnFEMI",
        ),
        (
            "token: ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
            "api_token",
            "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
        ),
        (
            "x-api-key=sk-proj-abcdefghijklmnopqrstuvwx",
            "api_token",
            "abcdefghijklmnopqrstuvwx",
        ),
        (
            "Authorization: Basic dXNlcjpwYXNzd29yZA==",
            "basic_auth",
            "dXNlcjpwYXNzd29yZA==",
        ),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA (truncated",
            "private_key",
            "b3BlbnNzaC1rZXk",
        ),
    ],
)
def test_common_secret_shapes(text: str, kind: str, secret: str) -> None:
    scrubbed, counts = scrub_text(text)
    assert secret not in scrubbed
    assert kind in counts


def test_ipv4_kept_by_default_and_redacted_on_request() -> None:
    rca = {"parameters": {"server": "10.0.3.17", "port": 8080}}
    kept, redactions = scrub_rca(rca)
    assert kept == rca
    assert redactions == []
    hidden, redactions = scrub_rca(rca, redact_ipv4=True)
    assert hidden["parameters"]["server"] == "[REDACTED:ipv4]"
    assert redactions == [Redaction(kind="ipv4", path="parameters.server", count=1)]


def test_scrubbing_twice_changes_nothing_more() -> None:
    once, _ = scrub_rca(rca_with_secrets())
    twice, redactions = scrub_rca(once)
    assert twice == once
    assert redactions == []
