"""Remove secrets and personal data from an RCA before any of it leaves the process.

RCA evidence is pasted from logs, and logs carry credentials more often than anyone admits. Text
that goes to an LLM provider (prompts, embedding inputs) passes through :func:`scrub_rca` first.
Each match is replaced by ``[REDACTED:<kind>]`` and reported as a :class:`Redaction` that says
what kind of secret was found and where, never the secret itself, so the report can be stored
and shown to reviewers.

The patterns favour recall over precision: a redacted harmless string costs the model a little
context, a leaked key costs a rotation and an incident.

IPv4 addresses are not redacted by default: remediation scripts need them (an nginx upstream,
a database host), and they are infrastructure identifiers, not personal data in this context.
Pass ``redact_ipv4=True`` where they must not leave.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: Marker prefix of every replacement; patterns skip text that already carries it.
REDACTION_PREFIX = "[REDACTED:"


@dataclass(frozen=True)
class Redaction:
    """One kind of secret found at one place in the RCA (never the secret itself)."""

    kind: str
    #: Where in the RCA, e.g. ``"evidence[0].text"`` or ``"parameters.db_password"``.
    path: str
    count: int


def _marker(kind: str) -> str:
    return f"{REDACTION_PREFIX}{kind}]"


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    #: Builds the replacement from the match; by default the whole match becomes the marker.
    replace: Callable[[re.Match[str], str], str] | None = None


def _keep_group(group: str) -> Callable[[re.Match[str], str], str]:
    """Keep the named group (a key or a scheme) and replace only the value after it."""

    def replace(match: re.Match[str], marker: str) -> str:
        return match.group(group) + marker

    return replace


_NOT_ALREADY_REDACTED = r"(?!\[REDACTED:)"

# Words that, as a key in ``key=value`` / ``key: value`` / ``"key": "value"``, announce a secret.
_PASSWORD_KEYS = r"(?:password|passwd|passphrase|pwd|db_pass|pass)"  # noqa: S105 - a pattern, not a password
_SECRET_KEYS = (
    r"(?:secret|secret_key|client_secret|api[_-]?key|apikey|access[_-]?key|access[_-]?token|auth[_-]?token"  # noqa: S105
    r"|refresh[_-]?token|token|private[_-]?key|credentials?|aws_secret_access_key|session[_-]?key)"
)
# A value: quoted, or everything up to the next blank. Separators such as `&`, `;` or `,` are
# taken too: they may be part of the password, and cutting there would leak its tail.
_VALUE = r"(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s\"']+)"


def _key_value_rule(kind: str, keys: str) -> _Rule:
    # The key may be a suffix of a longer identifier (DB_PASSWORD, x-api-key, MYSQL_ROOT_PASSWORD)
    # and may be quoted, as in JSON. The value must not already be a redaction marker.
    pattern = re.compile(
        rf"(?P<key>(?<![A-Za-z0-9])(?:[A-Za-z0-9]+[_-])*{keys}[\"']?\s*(?:=|:)\s*)"
        rf"{_NOT_ALREADY_REDACTED}(?P<value>{_VALUE})",
        re.IGNORECASE,
    )
    return _Rule(kind, pattern, _keep_group("key"))


# Order matters: specific formats first, so that a JWT inside "Authorization: Bearer <jwt>" is
# reported as a jwt, and the generic key=value rules only see what is left.
_RULES: tuple[_Rule, ...] = (
    _Rule(
        "private_key",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
            # Up to the END line, or to the end of the text when the log line was truncated.
            r"(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[\s\S]*\Z)"
        ),
    ),
    _Rule(
        "jwt",
        re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"),
    ),
    _Rule(
        "bearer_token",
        re.compile(
            rf"(?P<key>\bbearer\s+){_NOT_ALREADY_REDACTED}(?P<value>[A-Za-z0-9\-._~+/]{{8,}}=*)",
            re.IGNORECASE,
        ),
        _keep_group("key"),
    ),
    _Rule(
        "basic_auth",
        re.compile(
            rf"(?P<key>\bbasic\s+){_NOT_ALREADY_REDACTED}(?P<value>[A-Za-z0-9+/]{{8,}}=*)",
            re.IGNORECASE,
        ),
        _keep_group("key"),
    ),
    _Rule(
        "aws_access_key",
        re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"),
    ),
    _Rule(
        "api_token",
        re.compile(
            r"\b(?:"
            r"gh[pousr]_[A-Za-z0-9]{30,}"  # GitHub
            r"|github_pat_[A-Za-z0-9_]{30,}"
            r"|xox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
            r"|sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"  # OpenAI / Anthropic style
            r"|glpat-[A-Za-z0-9_-]{20,}"  # GitLab
            r"|AIza[A-Za-z0-9_-]{35}"  # Google API key
            r"|sk_live_[A-Za-z0-9]{20,}|rk_live_[A-Za-z0-9]{20,}"  # Stripe
            r")"
        ),
    ),
    _Rule(
        "url_credentials",
        # scheme://user:password@host — keep scheme and user, drop the password.
        re.compile(rf"(?P<key>\b[a-z][a-z0-9+.-]*://[^/\s:@]+:){_NOT_ALREADY_REDACTED}(?P<value>[^@\s/]+)(?=@)"),
        _keep_group("key"),
    ),
    _key_value_rule("password", _PASSWORD_KEYS),
    _key_value_rule("generic_secret", _SECRET_KEYS),
    _Rule(
        "email",
        re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
    ),
)

_IPV4_RULE = _Rule(
    "ipv4",
    re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])"),
)

# Keys whose whole value is a secret whatever it looks like (``parameters.db_password = 42``).
_SENSITIVE_KEY = re.compile(
    rf"(?:^|[_-]){_PASSWORD_KEYS}$|(?:^|[_-]){_SECRET_KEYS}$",
    re.IGNORECASE,
)


def _sensitive_key_kind(key: str) -> str | None:
    if not _SENSITIVE_KEY.search(key):
        return None
    return "password" if re.search(rf"(?:^|[_-]){_PASSWORD_KEYS}$", key, re.IGNORECASE) else "generic_secret"


def scrub_text(text: str, *, redact_ipv4: bool = False) -> tuple[str, dict[str, int]]:
    """Return ``text`` with secrets replaced, and how many of each kind were replaced."""
    counts: dict[str, int] = {}
    rules = (*_RULES, _IPV4_RULE) if redact_ipv4 else _RULES
    for rule in rules:
        marker = _marker(rule.kind)
        replace = rule.replace

        def substitute(match: re.Match[str], marker: str = marker, replace: Any = replace) -> str:
            return replace(match, marker) if replace else marker

        text, replaced = rule.pattern.subn(substitute, text)
        if replaced:
            counts[rule.kind] = counts.get(rule.kind, 0) + replaced
    return text, counts


class _Scrubber:
    def __init__(self, *, redact_ipv4: bool) -> None:
        self.redact_ipv4 = redact_ipv4
        self.redactions: list[Redaction] = []

    def scrub(self, value: Any, path: str, key: str | None = None) -> Any:
        if key is not None and not isinstance(value, (Mapping, list, tuple)) and value not in (None, ""):
            kind = _sensitive_key_kind(key)
            if kind is not None and not (isinstance(value, str) and value.startswith(REDACTION_PREFIX)):
                self.redactions.append(Redaction(kind=kind, path=path, count=1))
                return _marker(kind)
        if isinstance(value, str):
            scrubbed, counts = scrub_text(value, redact_ipv4=self.redact_ipv4)
            self.redactions.extend(Redaction(kind=kind, path=path, count=n) for kind, n in counts.items())
            return scrubbed
        if isinstance(value, Mapping):
            return {str(k): self.scrub(v, f"{path}.{k}" if path else str(k), key=str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.scrub(item, f"{path}[{index}]") for index, item in enumerate(value)]
        return value


def scrub_rca(rca: Mapping[str, Any], *, redact_ipv4: bool = False) -> tuple[dict[str, Any], list[Redaction]]:
    """Deep copy of ``rca`` with secrets and personal data replaced by ``[REDACTED:<kind>]``.

    Dictionary keys are kept (they are field names, and the model needs them); values under a key
    that names a secret (``password``, ``api_key``, ``DB_PASSWORD``, ...) are replaced whatever
    they look like. The input is not modified.
    """
    scrubber = _Scrubber(redact_ipv4=redact_ipv4)
    scrubbed = scrubber.scrub(rca, "")
    return scrubbed, scrubber.redactions


__all__ = ["REDACTION_PREFIX", "Redaction", "scrub_rca", "scrub_text"]
