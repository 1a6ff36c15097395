"""Checks that apply to every language: secrets, network egress, time budget, invisible characters.

The engine calls :func:`cross_language_findings` after the language validator. These are
text-level checks with compiled regular expressions, so they stay fast and never parse; the
language validators own the structural rules. For configuration patches only the lines the patch
adds are scanned: context and removed lines are not the script's doing (removing a plaintext
password is a fix, not a leak).

Messages never repeat a secret; they name its kind and line only.
"""

from __future__ import annotations

import ipaddress
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from remediation.validation.types import Finding, Language, Severity, ValidationContext

# --- secrets ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SecretPattern:
    rule_id: str
    pattern: re.Pattern[str]
    what: str
    #: Also scanned inside comments: a real key pasted into a comment is still leaked.
    in_comments: bool = True


_SECRET_PATTERNS: tuple[_SecretPattern, ...] = (
    _SecretPattern("secrets.aws_key", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"), "an AWS access key"),
    _SecretPattern(
        "secrets.private_key",
        re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
        "a private key block",
    ),
    _SecretPattern(
        "secrets.token",
        re.compile(
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|xox[abposr]-[A-Za-z0-9-]{10,}|"
            r"sk-(?:proj-|live-|ant-)?[A-Za-z0-9_-]{20,}|sk_live_[A-Za-z0-9]{16,}|AIza[0-9A-Za-z_-]{35}|"
            r"glpat-[A-Za-z0-9_-]{20,}|npm_[A-Za-z0-9]{36})"
        ),
        "an API token",
    ),
    _SecretPattern(
        "secrets.bearer_token",
        re.compile(r"\bBearer\s+(?![$<{%])[A-Za-z0-9._~+/-]{20,}=*", re.IGNORECASE),
        "a bearer token",
    ),
    _SecretPattern(
        "secrets.url_credentials",
        re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:(?![$*<{%])[^\s:/@'\"]{3,}@", re.IGNORECASE),
        "credentials inside a URL",
        in_comments=False,
    ),
)

# The key starts at a token boundary and its affixes are bounded: an unanchored ``[...]*`` before the
# keyword made finditer quadratic, 66 s on one 20,000-character line (a validator that hangs is a hole).
_SECRET_KEY = r"(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]{0,64}?(?:password|passwd|passphrase|pwd|secret|api_?key|apikey|"  # noqa: S105 - key names, not a password
_SECRET_KEY += r"access_?key|private_?key|token|requirepass|masterauth|credentials?)[A-Za-z0-9_.-]{0,64}"
#: key = "quoted literal" (any language) or key: literal / KEY=literal (config, YAML, shell).
_ASSIGNMENT = re.compile(
    rf"(?P<key>{_SECRET_KEY})[\"']?\s*(?:[:=]|\s(?=[\"'])|(?<=requirepass)\s|(?<=masterauth)\s)\s*(?:(?P<q>[\"'])(?P<quoted>[^\"'\n]*)(?P=q)|"
    rf"(?P<bare>[^\s\"',;&|)}}\]]+))",
    re.IGNORECASE,
)
_PASSWORD_KEY = re.compile(r"pass(?:word|wd|phrase)?$|pwd$|requirepass$|masterauth$", re.IGNORECASE)
#: Keys that name a secret rather than hold one (Kubernetes secretName, password_file, ...).
_NOT_A_SECRET_KEY = re.compile(
    r"(?:_?(?:file|path|name|ref|env|length|min|max|encryption|policy|dir|id|type|header|field|key_?ref|"
    r"secret_?ref|command|url|prompt|hash|expiry|expires|ttl|rotation|count)s?$|secretName|secretKeyRef)$",
    re.IGNORECASE,
)
_REFERENCE_VALUE = re.compile(r"^(?:\$|%\(|\{\{|<|\*{3,}|x{3,}|\.\.\.|\[|\(|@|/|~|env:|vault:|file:|secret:)")
_NON_SECRET_VALUES = frozenset(
    {
        "",
        "true",
        "false",
        "yes",
        "no",
        "none",
        "null",
        "nil",
        "required",
        "optional",
        "redacted",
        "md5",
        "scram-sha-256",
        "password",
        "secret",
        "token",
        "str",
        "string",
        "bool",
        "int",
    }
)
_MIN_SECRET_ENTROPY_BITS = 3.0


def _entropy(value: str) -> float:
    counts: dict[str, int] = {}
    for char in value:
        counts[char] = counts.get(char, 0) + 1
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _assignment_secret(line: str, language: Language) -> str | None:
    """Rule id when ``line`` assigns a literal secret, else None."""
    for match in _ASSIGNMENT.finditer(line):
        key = match.group("key")
        if _NOT_A_SECRET_KEY.search(key):
            continue
        quoted = match.group("quoted")
        value = quoted if quoted is not None else match.group("bare") or ""
        if quoted is None and language in {Language.PYTHON, Language.SQL}:
            continue  # unquoted there is an expression (os.environ[...], a column), not a literal
        if quoted is None and re.match(r"^[A-Za-z_][\w.]*[(\[]", value):
            continue
        if _REFERENCE_VALUE.match(value) or value.lower() in _NON_SECRET_VALUES or len(value) < 4:
            continue
        if "${" in value or "$(" in value or "{{" in value:
            continue
        if _PASSWORD_KEY.search(key.rstrip("_-. ")) or "password" in key.lower() or "passwd" in key.lower():
            return "secrets.password_literal"
        if len(value) >= 16 and _entropy(value) >= _MIN_SECRET_ENTROPY_BITS:
            return "secrets.high_entropy"
    return None


# --- egress -----------------------------------------------------------------------------------

_URL = re.compile(
    r"\b(?:https?|ftps?|wss?|tcp|udp|redis|rediss|postgres(?:ql)?|mysql|amqps?|mongodb(?:\+srv)?|ldaps?|smtp|sftp|ssh)"
    r"://(?:[^\s/@'\"<>]+@)?(\[[0-9A-Fa-f:.]+\]|[^\s/:'\"<>?#)\],;`]+)",
    re.IGNORECASE,
)
_IPV4 = re.compile(r"(?<![\w.])((?:\d{1,3}\.){3}\d{1,3})(?![\w.]|/\d)")
_HOST_OPTION = re.compile(
    r"(?:--host(?:name)?[= ]|\bhost\s*=\s*|\bPGHOST=|\bssh\s+(?:-\S+\s+)*[\w.-]+@)[\"']?([A-Za-z0-9][\w.-]*\.[A-Za-z]{2,})",
)
_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "100.100.100.200", "fd00:ec2::254"})
_CLUSTER_SUFFIXES = (".svc", ".svc.cluster.local", ".cluster.local", ".localhost", ".local")
_PLACEHOLDER_DOMAINS = ("example.com", "example.org", "example.net", ".example", ".test", ".invalid")


def host_allowed(host: str, allowed_hosts: tuple[str, ...]) -> bool:
    """``host`` equals an allowed entry, or sits under an entry written as ``.domain`` or ``*.domain``."""
    host = host.lower().strip("[]").rstrip(".")
    for entry in allowed_hosts:
        entry = entry.lower().strip()
        if entry.startswith(("*.", ".")):
            suffix = entry.lstrip("*")
            if host.endswith(suffix) or host == suffix.lstrip("."):
                return True
        elif host == entry or host.split(":")[0] == entry:
            return True
    return False


def _is_metadata(host: str) -> bool:
    host = host.lower().strip("[]")
    if host in _METADATA_HOSTS:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.version == 4 and address in ipaddress.ip_network("169.254.0.0/16")


def _is_local(host: str) -> bool:
    host = host.lower().strip("[]").rstrip(".")
    if host in {"localhost", "kubernetes", "kubernetes.default", "0.0.0.0", "::"}:  # noqa: S104 - matching, not binding
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        # A single-label name is a cluster service or an nginx upstream block, not the internet.
        return "." not in host or host.endswith(_CLUSTER_SUFFIXES) or host.endswith(_PLACEHOLDER_DOMAINS)
    return address.is_loopback or address.is_unspecified


def _hosts_in(line: str) -> Iterator[str]:
    for match in _URL.finditer(line):
        yield match.group(1)
    for match in _IPV4.finditer(line):
        if all(0 <= int(part) <= 255 for part in match.group(1).split(".")):
            yield match.group(1)
    for match in _HOST_OPTION.finditer(line):
        yield match.group(1)


# --- time budget ------------------------------------------------------------------------------

_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATIONS = (
    re.compile(r"\bsleep\s+(\d+(?:\.\d+)?)([smhd]?)\b"),
    re.compile(r"\b(?:time\.|asyncio\.)?sleep\((\d+(?:\.\d+)?)()\)"),
    re.compile(r"\bpg_sleep\((\d+(?:\.\d+)?)()\)"),
    re.compile(r"--(?:request-|wait-|connect-)?timeout[= ](\d+(?:\.\d+)?)([smh]?)\b"),
    re.compile(r"(?:^|[;&|(]\s*|\bsudo\s+)timeout\s+(?:-\S+\s+)*(\d+(?:\.\d+)?)([smhd]?)\s"),
    re.compile(r"\btimeout\s*=\s*(\d+(?:\.\d+)?)()\b"),
    re.compile(r"\bactiveDeadlineSeconds[\"']?\s*:\s*(\d+)()\b"),
)

# --- invisible characters ---------------------------------------------------------------------

_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u00ad\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u2069\u3164\ufeff\uffa0\U000e0000-\U000e007f]"
)

_COMMENT_PREFIXES = ("#", "//", "-- ", "/*", "*")


def _is_comment(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(_COMMENT_PREFIXES) and not stripped.startswith(("#!", "#include", "#@"))


def _scanned_lines(text: str, language: Language) -> Iterator[tuple[int, str]]:
    """(1-based line number, text) of the lines the cross-language checks read."""
    for number, line in enumerate(text.splitlines(), start=1):
        if language is Language.CONFIG_PATCH:
            if not line.startswith("+") or line.startswith("+++"):
                continue
            line = line[1:]
        yield number, line


def _secret_findings(number: int, line: str, language: Language) -> Iterator[Finding]:
    comment = _is_comment(line)
    for secret in _SECRET_PATTERNS:
        if comment and not secret.in_comments:
            continue
        match = secret.pattern.search(line)
        if match and "EXAMPLE" not in match.group(0).upper():
            yield Finding(
                secret.rule_id,
                Severity.HIGH,
                f"Line {number} contains {secret.what}.",
                number,
                "Read secrets from the environment or a secret store; rotate this one, it is now exposed.",
            )
            return
    if not comment:
        rule_id = _assignment_secret(line, language)
        if rule_id:
            yield Finding(
                rule_id,
                Severity.HIGH,
                f"Line {number} assigns a literal secret value.",
                number,
                "Reference the secret (environment variable, mounted file, secretKeyRef) instead of inlining it.",
            )


def _egress_findings(number: int, line: str, context: ValidationContext) -> Iterator[Finding]:
    seen: set[str] = set()
    for host in _hosts_in(line):
        key = host.lower()
        if key in seen:
            continue
        seen.add(key)
        if _is_metadata(host):
            yield Finding(
                "egress.metadata",
                Severity.CRITICAL,
                f"Line {number} reaches the cloud metadata service {host}: instance credentials can be stolen.",
                number,
                "Never call the instance metadata endpoint from a remediation.",
            )
        elif context.allowed_hosts and not _is_local(host) and not host_allowed(host, context.allowed_hosts):
            yield Finding(
                "egress.unlisted_host",
                Severity.MEDIUM,
                f"Line {number} contacts {host[:80]}, which is not among the allowed hosts.",
                number,
                "Add the host to the allowed hosts if it is expected, or remove the call.",
            )


def _budget_findings(number: int, line: str, context: ValidationContext) -> Iterator[Finding]:
    for pattern in _DURATIONS:
        for match in pattern.finditer(line):
            seconds = float(match.group(1)) * _UNIT_SECONDS.get(match.group(2), 1)
            if seconds > context.max_execution_seconds:
                yield Finding(
                    "budget.time",
                    Severity.MEDIUM,
                    f"Line {number} waits or allows {seconds:.0f}s, above the {context.max_execution_seconds}s budget.",
                    number,
                    "Keep waits and timeouts within the execution budget.",
                )
                return


def _invisible_findings(number: int, line: str) -> Iterator[Finding]:
    found = {char for char in _INVISIBLE.findall(line) if not (number == 1 and char == "\ufeff" and line[0] == char)}
    if found:
        names = ", ".join(sorted(f"U+{ord(c):04X} {unicodedata.name(c, 'CONTROL')}" for c in found)[:4])
        yield Finding(
            "syntax.invisible_characters",
            Severity.HIGH,
            f"Line {number} contains invisible or bidirectional control characters ({names}): "
            "what a reviewer reads is not what runs (Trojan Source).",
            number,
            "Remove the characters; type the text in plain ASCII.",
        )


#: One noisy script should not drown the report: at most this many findings per rule.
MAX_FINDINGS_PER_RULE = 20


def cross_language_findings(text: str, *, language: Language, context: ValidationContext) -> list[Finding]:
    findings: list[Finding] = []
    per_rule: dict[str, int] = {}
    check_budget = language is not Language.CONFIG_PATCH  # config timeouts are not the script's run time
    for number, line in _scanned_lines(text, language):
        produced: list[Finding] = list(_secret_findings(number, line, language))
        if not _is_comment(line):
            produced.extend(_egress_findings(number, line, context))
            if check_budget:
                produced.extend(_budget_findings(number, line, context))
        produced.extend(_invisible_findings(number, line))
        for finding in produced:
            per_rule[finding.rule_id] = per_rule.get(finding.rule_id, 0) + 1
            if per_rule[finding.rule_id] <= MAX_FINDINGS_PER_RULE:
                findings.append(finding)
    return findings


__all__ = ["MAX_FINDINGS_PER_RULE", "cross_language_findings", "host_allowed"]
