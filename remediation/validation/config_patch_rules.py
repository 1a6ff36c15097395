"""Content rules for configuration patches, per configuration type.

Rules look at the lines a patch adds (and, for access controls, removes). Each added line is split
into statements first: in nginx ``proxy_pass http://a; include /tmp/x.conf;`` is two directives and
both are checked. Comment lines are skipped, except sudoers ``#include``/``#includedir``, which are
directives despite the ``#``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from remediation.validation.types import Finding, Severity

NGINX, POSTGRESQL, PG_HBA, SSHD, SUDOERS, REDIS = "nginx", "postgresql", "pg_hba", "sshd", "sudoers", "redis"
YAML, JSON, INI, ENV, GENERIC = "yaml", "json", "ini", "env", "generic"


@dataclass(frozen=True, slots=True)
class ConfigLine:
    """A line of the resulting file (or of the hunks when the current file is unknown)."""

    text: str
    diff_line: int | None
    added: bool


@dataclass(frozen=True, slots=True)
class LineRule:
    rule_id: str
    severity: Severity
    pattern: re.Pattern[str]
    message: str
    hint: str
    #: Config types the rule applies to; empty means every type.
    types: frozenset[str] = frozenset()


def _rule(
    rule_id: str, severity: Severity, pattern: str, message: str, hint: str, types: Iterable[str] = ()
) -> LineRule:
    return LineRule(rule_id, severity, re.compile(pattern, re.IGNORECASE), message, hint, frozenset(types))


_Q = r"[\"']?"  # optional quote around keys and values
_SEP = r"[\"']?(?:\s*[:=]\s*|\s+)[\"']?"  # key/value separator: ':', '=', or whitespace
_FALSE = r"(?:false|no|off|0|none|disabled?)\b"
_TRUE = r"(?:true|yes|on|1|enabled?)\b"
_ANY_ADDRESS = r"(?:0\.0\.0\.0|\*|::|\[::\])"
_WRITABLE_DIRS = r"(?:/tmp\b|/var/tmp\b|/dev/shm\b|/home/|/run/user\b|/var/www/upload|~)"

LINE_RULES: tuple[LineRule, ...] = (
    _rule(
        "tls.verify_disabled",
        Severity.HIGH,
        r"^proxy_ssl_verify\s+off\b",
        "nginx stops verifying the upstream's TLS certificate (proxy_ssl_verify off).",
        "Keep proxy_ssl_verify on and configure proxy_ssl_trusted_certificate.",
        [NGINX],
    ),
    _rule(
        "tls.verify_disabled",
        Severity.HIGH,
        rf"{_Q}\b[\w.-]*(?:ssl_?verify|verify_?ssl|tls_?verify|verify_?tls|verify_?certs?|verify_?peer|check_?hostname|"
        rf"cert_?reqs|ssl_?cert_?check){_Q}{_SEP}(?:{_FALSE}|cert_none)",
        "TLS certificate verification is switched off.",
        "Keep verification on; add the CA bundle instead.",
    ),
    _rule(
        "tls.verify_disabled",
        Severity.HIGH,
        rf"(?:\binsecure(?:_?skip_?(?:tls_?)?verify)?|skip_?(?:tls_?|ssl_?)?verify)\w*{_Q}{_SEP}{_TRUE}",
        "TLS certificate verification is skipped (insecure=true).",
        "Keep verification on; add the CA bundle instead.",
    ),
    _rule(
        "tls.verify_disabled",
        Severity.HIGH,
        r"(?:\bsslmode[\"']?\s*[:=]\s*[\"']?disable\b|NODE_TLS_REJECT_UNAUTHORIZED\s*[:=]\s*[\"']?0|"
        r"rejectUnauthorized[\"']?\s*[:=]\s*false|PYTHONHTTPSVERIFY\s*[:=]\s*[\"']?0)",
        "The connection disables TLS or certificate checks (sslmode=disable or equivalent).",
        "Use sslmode=verify-full (or require at least) and keep certificate checks.",
    ),
    _rule(
        "tls.verify_disabled",
        Severity.HIGH,
        r"^ssl\s*=\s*'?off\b",
        "PostgreSQL stops offering TLS (ssl = off).",
        "Keep ssl = on.",
        [POSTGRESQL],
    ),
    _rule(
        "tls.weak_protocol",
        Severity.MEDIUM,
        r"^ssl_protocols\b.*\b(?:SSLv2|SSLv3|TLSv1|TLSv1\.1)(?:\s|;|$)",
        "nginx re-enables an obsolete TLS/SSL protocol.",
        "Allow TLSv1.2 and TLSv1.3 only.",
        [NGINX],
    ),
    _rule(
        "auth.disabled",
        Severity.HIGH,
        rf"{_Q}\b[\w.-]*(?:auth|authentication|require_?auth\w*|login_?required|security\.enabled|auth_?enabled)"
        rf"{_Q}\s*[:=]\s*{_Q}{_FALSE}",
        "Authentication is switched off.",
        "Keep authentication enabled.",
        [YAML, JSON, INI, ENV, GENERIC],
    ),
    _rule(
        "auth.disabled",
        Severity.HIGH,
        r"^auth_basic\s+off\b",
        "nginx switches basic authentication off.",
        "Keep auth_basic on for this location.",
        [NGINX],
    ),
    _rule(
        "sshd.permit_root_login",
        Severity.CRITICAL,
        r"^PermitRootLogin\s+yes\b",
        "sshd allows root to log in with a password.",
        "Use PermitRootLogin no (or prohibit-password).",
        [SSHD],
    ),
    _rule(
        "sshd.password_authentication",
        Severity.HIGH,
        r"^PasswordAuthentication\s+yes\b",
        "sshd accepts passwords, opening the host to brute force.",
        "Keep PasswordAuthentication no; use keys.",
        [SSHD],
    ),
    _rule(
        "sshd.password_authentication",
        Severity.CRITICAL,
        r"^PermitEmptyPasswords\s+yes\b",
        "sshd accepts empty passwords.",
        "Set PermitEmptyPasswords no.",
        [SSHD],
    ),
    _rule(
        "sshd.password_authentication",
        Severity.HIGH,
        r"^StrictModes\s+no\b",
        "sshd stops checking the permissions of key files.",
        "Keep StrictModes yes.",
        [SSHD],
    ),
    _rule(
        "sudoers.nopasswd_all",
        Severity.CRITICAL,
        r"NOPASSWD\s*:\s*(?:ALL\b|/(?:usr/)?bin/(?:ba|z|da)?sh\b|/(?:usr/)?bin/(?:env|su|python\S*|perl|vim?)\b)",
        "sudoers grants passwordless root for every command or a shell.",
        "Grant NOPASSWD only for the exact command the service account needs.",
        [SUDOERS],
    ),
    _rule(
        "sudoers.nopasswd_all",
        Severity.CRITICAL,
        r"^Defaults\b.*(?:!authenticate\b|env_keep\s*\+?=.*\bLD_(?:PRELOAD|LIBRARY_PATH)\b|!env_reset\b)",
        "sudoers turns off authentication or environment scrubbing for sudo.",
        "Keep sudo's authentication and env_reset defaults.",
        [SUDOERS],
    ),
    _rule(
        "sudoers.full_root",
        Severity.HIGH,
        r"^[%\w.-]+\s+ALL\s*=\s*\(\s*ALL(?:\s*:\s*ALL)?\s*\)\s*ALL\s*$",
        "sudoers grants full root to a user or group.",
        "Grant only the commands needed.",
        [SUDOERS],
    ),
    _rule(
        "listen.all_interfaces",
        Severity.HIGH,
        rf"^listen_addresses\s*=\s*'?\s*(?:[\w.:]*,\s*)*{_ANY_ADDRESS}",
        "PostgreSQL listens on every interface.",
        "Listen on localhost or the private interface only.",
        [POSTGRESQL],
    ),
    _rule(
        "listen.all_interfaces",
        Severity.HIGH,
        r"^bind\s+(?:[\w.:-]+\s+)*(?:0\.0\.0\.0|\*|::|-::\*)(?:\s|$)",
        "Redis binds on every interface.",
        "Bind to 127.0.0.1 or the private interface.",
        [REDIS],
    ),
    _rule(
        "listen.all_interfaces",
        Severity.HIGH,
        r"^protected-mode\s+no\b",
        "Redis protected mode is switched off.",
        "Keep protected-mode yes and set requirepass/ACLs.",
        [REDIS],
    ),
    _rule(
        "listen.all_interfaces",
        Severity.HIGH,
        rf"{_Q}\b[\w.-]*(?:admin|management|metrics|debug|pprof|actuator|jmx|console)[\w.-]*"
        rf"(?:listen|bind|address|host|addr)[\w.-]*{_Q}\s*[:=]\s*{_Q}{_ANY_ADDRESS}",
        "An admin or management listener is opened on every interface.",
        "Bind admin endpoints to localhost.",
    ),
    _rule(
        "listen.all_interfaces",
        Severity.CRITICAL,
        r"tcp://(?:0\.0\.0\.0|\*|\[::\])?:2375\b",
        "The Docker daemon is exposed over plain TCP without TLS: remote root.",
        "Use the local socket or TLS on 2376 with client certificates.",
    ),
    _rule(
        "pg.durability_off",
        Severity.CRITICAL,
        rf"^(?:fsync|full_page_writes)\s*=\s*'?{_FALSE}",
        "PostgreSQL durability is switched off: a crash can corrupt the cluster.",
        "Keep fsync and full_page_writes on.",
        [POSTGRESQL],
    ),
    _rule(
        "pg.archive_command_network",
        Severity.HIGH,
        r"^(?:archive_command|restore_command|archive_cleanup_command)\s*=.*(?:\b(?:curl|wget|nc|ncat|netcat|socat|"
        r"scp|sftp|ssh|ftp|telnet)\b|/dev/tcp)",
        "The WAL archive command runs a network tool for every segment (a data exfiltration path).",
        "Archive with a dedicated, reviewed tool (pgBackRest, WAL-G) to a known destination.",
        [POSTGRESQL],
    ),
    _rule(
        "app.debug_enabled",
        Severity.MEDIUM,
        rf"^(?:export\s+)?{_Q}(?:[\w.-]*[._-])?debug{_Q}\s*[:=]\s*{_Q}{_TRUE}",
        "Debug mode is switched on (stack traces and internals exposed in production).",
        "Keep debug off in production.",
    ),
    _rule(
        "app.debug_enabled",
        Severity.MEDIUM,
        rf"(?:^|[\s{{,])(?:export\s+)?{_Q}[\w.-]*(?:log_?level|loglevel|logging\.level[\w.-]*|root_?level|\blevel)"
        rf"{_SEP}(?:debug|trace|all)\b",
        "The log level is raised to DEBUG/TRACE (noise, cost and leaked secrets in production).",
        "Use INFO or WARNING in production.",
    ),
    _rule(
        "app.debug_enabled",
        Severity.MEDIUM,
        r"^(?:error_log\s+\S+\s+debug\b|log_min_messages\s*=\s*'?debug|log_statement\s*=\s*'?all\b)",
        "Debug or full-statement logging is switched on.",
        "Use the default log levels in production.",
        [NGINX, POSTGRESQL],
    ),
    _rule(
        "cors.wildcard",
        Severity.MEDIUM,
        r"(?:Access-Control-Allow-Origin[\"']?\s*[:\s]\s*[\"']?\*|cors[\w.-]*origins?[\w.-]*[\"']?\s*[:=]\s*\[?\s*"
        r"[\"']?\*|CORS_(?:ORIGIN_)?ALLOW_ALL(?:_ORIGINS)?\s*[:=]\s*(?:True|1)\b|allow_?origins[\"']?\s*[:=]\s*"
        r"\[\s*[\"']\*)",
        "CORS allows every origin.",
        "List the origins that need access.",
    ),
    _rule(
        "limits.removed",
        Severity.MEDIUM,
        r"^client_max_body_size\s+0\b",
        "nginx no longer limits request body size.",
        "Keep a body size limit that fits the largest legitimate upload.",
        [NGINX],
    ),
    _rule(
        "limits.removed",
        Severity.MEDIUM,
        r"^maxmemory\s+0\b",
        "Redis no longer has a memory limit.",
        "Keep maxmemory set.",
        [REDIS],
    ),
    _rule(
        "include.writable_dir",
        Severity.CRITICAL,
        rf"^(?:#|@|!)?(?:include\w*|\\ir?)\b{_Q}(?:\s*=\s*|\s+){_Q}{_WRITABLE_DIRS}",
        "An include directive loads configuration from a world-writable or user-controlled directory.",
        "Include files only from the configuration directory owned by root.",
    ),
    _rule(
        "nginx.filesystem_exposure",
        Severity.CRITICAL,
        r"^(?:alias|root)\s+[\"']?/(?:etc|proc|root|home|sys|var/lib|var/run|run)?/?[\"']?\s*;?\s*$",
        "nginx serves the root filesystem or a system directory.",
        "Serve only the application's static directory.",
        [NGINX],
    ),
    _rule(
        "nginx.autoindex",
        Severity.MEDIUM,
        r"^autoindex\s+on\b",
        "nginx lists directory contents (autoindex on).",
        "Keep autoindex off.",
        [NGINX],
    ),
    _rule(
        "nginx.proxy_pass_metadata",
        Severity.CRITICAL,
        r"^(?:proxy_pass|fastcgi_pass|grpc_pass|uwsgi_pass|server)\s+(?:\w+://)?(?:169\.254\.169\.254|"
        r"metadata\.google\.internal|\[?fd00:ec2::254|100\.100\.100\.200)",
        "nginx proxies to the cloud metadata service (credential theft through SSRF).",
        "Never route traffic to the instance metadata endpoint.",
        [NGINX],
    ),
)

#: Directives whose removal weakens access control, per config type.
ACCESS_DIRECTIVES: dict[str, re.Pattern[str]] = {
    NGINX: re.compile(r"^(auth_basic|auth_basic_user_file|auth_request|auth_jwt|allow|deny|satisfy)\b", re.IGNORECASE),
    SSHD: re.compile(r"^(AllowUsers|AllowGroups|DenyUsers|DenyGroups)\b", re.IGNORECASE),
    PG_HBA: re.compile(r"^(?:local|host\w*)\s.*\breject\s*$", re.IGNORECASE),
}
LIMIT_DIRECTIVES = re.compile(r"^(limit_req|limit_conn|limit_rate|client_max_body_size)\b", re.IGNORECASE)

_TIMEOUT = re.compile(
    rf"^(?:export\s+)?{_Q}([\w.-]*timeout[\w.-]*){_SEP}(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?[\"']?\s*[;,]?\s*$",
    re.IGNORECASE,
)
_POOL = re.compile(
    rf"^(?:export\s+)?{_Q}([\w.-]*(?:max_connections|maxclients|pool_?size|pool_?max|max_?pool\w*|max_overflow|"
    rf"worker_connections|max_?connections))[\w.-]*{_SEP}(\d+)\b",
    re.IGNORECASE,
)
#: Timeouts above an hour, and pools or connection caps beyond these, are "limits removed".
MAX_SANE_TIMEOUT_SECONDS = 3600
MAX_SANE_POOL = 10_000
MAX_SANE_WORKER_CONNECTIONS = 100_000
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def statements(text: str, config_type: str) -> list[str]:
    """Split one line into directives; only nginx puts several on a line."""
    stripped = text.strip()
    if config_type != NGINX:
        return [stripped]
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for char in stripped:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
            continue
        if char in "\"'":
            quote = char
            current.append(char)
        elif char == "#":
            break
        elif char in ";{}":
            if char == ";":
                current.append(";")
            part = "".join(current).strip()
            if part:
                parts.append(part)
            current = []
        else:
            current.append(char)
    tail = "".join(current).strip()
    if tail:
        parts.append(tail)
    return parts


def is_comment(text: str, config_type: str) -> bool:
    stripped = text.strip()
    if config_type == SUDOERS and re.match(r"^#include", stripped):
        return False  # "#include" and "#includedir" are sudoers directives, not comments
    return stripped.startswith(("#", "//")) or (config_type == INI and stripped.startswith(";"))


def line_rule_findings(lines: list[ConfigLine], config_type: str) -> list[Finding]:
    findings: list[Finding] = []
    for line in lines:
        if not line.added or is_comment(line.text, config_type):
            continue
        for statement in statements(line.text, config_type):
            for rule in LINE_RULES:
                if rule.types and config_type not in rule.types:
                    continue
                if rule.pattern.search(statement):
                    findings.append(Finding(rule.rule_id, rule.severity, rule.message, line.diff_line, rule.hint))
            findings.extend(_numeric_limit_findings(statement, config_type, line.diff_line))
    return findings


def _numeric_limit_findings(statement: str, config_type: str, diff_line: int | None) -> list[Finding]:
    findings: list[Finding] = []
    timeout = _TIMEOUT.match(statement)
    if timeout:
        key, amount, unit = timeout.group(1).lower(), float(timeout.group(2)), (timeout.group(3) or "").lower()
        if not unit:
            # PostgreSQL and most "_ms" keys count milliseconds; nginx and most apps count seconds.
            unit = "ms" if config_type == POSTGRESQL or key.endswith("ms") else "s"
        seconds = amount * _UNIT_SECONDS[unit]
        if seconds > MAX_SANE_TIMEOUT_SECONDS:
            findings.append(
                Finding(
                    "limits.removed",
                    Severity.MEDIUM,
                    f"{key} is raised to {seconds:.0f}s, more than an hour: hung work is never cut off.",
                    diff_line,
                    f"Keep timeouts at or below {MAX_SANE_TIMEOUT_SECONDS}s.",
                )
            )
    pool = _POOL.match(statement)
    if pool:
        key, amount = pool.group(1).lower(), int(pool.group(2))
        ceiling = MAX_SANE_WORKER_CONNECTIONS if key == "worker_connections" else MAX_SANE_POOL
        if amount > ceiling:
            findings.append(
                Finding(
                    "limits.removed",
                    Severity.MEDIUM,
                    f"{key} is raised to {amount}, beyond any sane bound ({ceiling}).",
                    diff_line,
                    "Raise pools and connection caps in proportion to the measured need.",
                )
            )
    return findings


def removal_findings(removed: list[ConfigLine], added: list[ConfigLine], config_type: str) -> list[Finding]:
    """Access-control or limit directives the patch removes without putting an equivalent back."""
    findings: list[Finding] = []
    access = ACCESS_DIRECTIVES.get(config_type)

    def count(lines: list[ConfigLine], pattern: re.Pattern[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for line in lines:
            if is_comment(line.text, config_type):
                continue
            for statement in statements(line.text, config_type):
                match = pattern.match(statement)
                if match:
                    name = (match.group(1) if match.groups() else "reject").lower()
                    counts[name] = counts.get(name, 0) + 1
        return counts

    checks: list[tuple[re.Pattern[str], str, Severity, str]] = []
    if access is not None:
        checks.append((access, "access.control_removed", Severity.HIGH, "an access-control directive"))
    if config_type == NGINX:
        checks.append((LIMIT_DIRECTIVES, "limits.removed", Severity.MEDIUM, "a rate or size limit"))
    for pattern, rule_id, severity, what in checks:
        before, after = count(removed, pattern), count(added, pattern)
        for name, removed_count in before.items():
            if after.get(name, 0) < removed_count:
                line = next(
                    (
                        entry.diff_line
                        for entry in removed
                        if any(pattern.match(s) for s in statements(entry.text, config_type))
                    ),
                    None,
                )
                findings.append(
                    Finding(
                        rule_id,
                        severity,
                        f"The patch removes {what} ({name}) without replacing it.",
                        line,
                        "Keep access controls and limits; change them in place if they must change.",
                    )
                )
    return findings


_PG_HBA_CONNECTION_TYPES = {"host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc"}
_WORLD = {"0.0.0.0/0", "::/0", "all", "*", "0.0.0.0"}  # noqa: S104 - matching, not binding


def pg_hba_findings(lines: list[ConfigLine]) -> list[Finding]:
    findings: list[Finding] = []
    for line in lines:
        if not line.added or is_comment(line.text, PG_HBA):
            continue
        fields = line.text.split("#", 1)[0].split()
        if len(fields) < 4:
            continue
        connection = fields[0].lower()
        if connection == "local":
            method = fields[3].lower()
            if method == "trust":
                findings.append(
                    Finding(
                        "pg_hba.trust",
                        Severity.MEDIUM,
                        "pg_hba lets local users connect without a password (trust).",
                        line.diff_line,
                        "Use peer or scram-sha-256 for local connections.",
                    )
                )
            continue
        if connection not in _PG_HBA_CONNECTION_TYPES or len(fields) < 5:
            continue
        address = fields[3].lower()
        world = address in _WORLD or (address == "0.0.0.0" and len(fields) > 5 and fields[4] == "0.0.0.0")  # noqa: S104
        method_index = 5 if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", address) and len(fields) > 5 else 4
        method = fields[method_index].lower()
        loopback = address.startswith(("127.", "::1", "localhost"))
        if method in {"trust", "password"} and not loopback:
            findings.append(
                Finding(
                    "pg_hba.trust",
                    Severity.CRITICAL if world or method == "trust" else Severity.HIGH,
                    f"pg_hba accepts {method!r} (no or cleartext password) from {address}.",
                    line.diff_line,
                    "Use scram-sha-256 and a narrow address range.",
                )
            )
        elif world and method != "reject":
            findings.append(
                Finding(
                    "pg_hba.open_to_world",
                    Severity.MEDIUM,
                    f"pg_hba accepts connections from any address ({address}).",
                    line.diff_line,
                    "Restrict the address to the application's network.",
                )
            )
    return findings


_SSHD_FIRST_WINS = re.compile(r"^(\w+)\s+(\S.*)$")


def sshd_first_value_findings(lines: list[ConfigLine]) -> list[Finding]:
    """sshd keeps the first value of a keyword: an added line after an earlier one does nothing."""
    findings: list[Finding] = []
    first: dict[str, tuple[str, bool]] = {}
    for line in lines:
        if is_comment(line.text, SSHD) or not line.text.strip():
            continue
        match = _SSHD_FIRST_WINS.match(line.text.strip())
        if not match:
            continue
        keyword, value = match.group(1).lower(), match.group(2).strip().lower()
        if keyword == "match":
            break  # keywords inside Match blocks have their own scope
        if keyword not in first:
            first[keyword] = (value, line.added)
        elif line.added and first[keyword][0] != value and not first[keyword][1]:
            findings.append(
                Finding(
                    "sshd.ineffective_setting",
                    Severity.MEDIUM,
                    f"An earlier line already sets {match.group(1)} to {first[keyword][0]!r}; sshd keeps the first "
                    "value, so the added line has no effect.",
                    line.diff_line,
                    "Change the existing line instead of appending a new one.",
                )
            )
    return findings


__all__ = [
    "INI",
    "JSON",
    "LINE_RULES",
    "NGINX",
    "PG_HBA",
    "POSTGRESQL",
    "REDIS",
    "SSHD",
    "SUDOERS",
    "YAML",
    "ConfigLine",
    "LineRule",
    "is_comment",
    "line_rule_findings",
    "pg_hba_findings",
    "removal_findings",
    "sshd_first_value_findings",
    "statements",
]
