"""Configuration patch validator: unified diff metadata, exact application, content rules.

Order of checks: parse with unidiff; refuse diff-level tricks (path escapes, unexpected paths,
mode changes, symlinks, deletions, renames, binary patches, several files when one is expected);
when the current file is known, apply the hunks in memory with ``git apply --check`` semantics (no
fuzz, no offset) and compute the resulting file; then run the rules for the detected configuration
type on the added lines and, when the whole result is known, on the result (nginx structure,
YAML/JSON parsing, sshd first-value-wins). Nothing is ever written to a real path.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass

import unidiff  # type: ignore[import-untyped]
from unidiff.patch import PatchedFile  # type: ignore[import-untyped]

from remediation.validation.common import host_allowed
from remediation.validation.config_patch_rules import (
    INI,
    JSON,
    NGINX,
    PG_HBA,
    POSTGRESQL,
    REDIS,
    SSHD,
    SUDOERS,
    YAML,
    ConfigLine,
    is_comment,
    line_rule_findings,
    pg_hba_findings,
    removal_findings,
    sshd_first_value_findings,
    statements,
)
from remediation.validation.kubernetes_yaml import ManifestLoadError, load_manifests
from remediation.validation.types import Finding, LanguageReport, Severity, ValidationContext

_DEV_NULL = "/dev/null"
_METADATA_LINE = re.compile(
    r"^(old mode|new mode|new file mode|deleted file mode|rename from|rename to|copy from|copy to|"
    r"GIT binary patch|Binary files .* differ|literal \d+|delta \d+)(.*)$"
)


@dataclass(frozen=True, slots=True)
class _Applied:
    """The resulting file, or why the patch does not apply."""

    lines: list[ConfigLine] | None
    error: Finding | None


def validate(text: str, context: ValidationContext) -> LanguageReport:
    """Validate a unified diff against ``context``; never raises on bad input."""
    report = LanguageReport(versions={"unidiff": _unidiff_version()})
    findings = report.findings
    findings.extend(_metadata_findings(text))
    try:
        patch = unidiff.PatchSet(text)
    except (unidiff.UnidiffParseError, ValueError, IndexError) as error:
        findings.append(
            Finding(
                "patch.parse_error",
                Severity.CRITICAL,
                f"The text is not a valid unified diff: {str(error)[:200]}.",
                None,
                "Produce the patch with `diff -u` or `git diff`.",
            )
        )
        return report
    files = list(patch)
    if not files or (not any(len(patched) for patched in files) and not findings):
        findings.append(
            Finding(
                "patch.parse_error",
                Severity.CRITICAL,
                "The text holds no file hunks: it is not a unified diff.",
                1,
                "Produce the patch with `diff -u` or `git diff`.",
            )
        )
        return report
    expected = _expected_paths(context)
    if len(files) > 1 and (len(expected) == 1 or context.current_config is not None):
        findings.append(
            Finding(
                "patch.multiple_files",
                Severity.HIGH,
                f"The patch changes {len(files)} files where one is expected.",
                None,
                "Patch only the file the RCA names.",
            )
        )
    for patched in files:
        findings.extend(_file_findings(patched, context, expected, single_file=len(files) == 1))
        report.side_effects.append(_side_effect(patched))
    return report


def _unidiff_version() -> str:
    return str(getattr(unidiff, "__version__", "unknown"))


def _metadata_findings(text: str) -> list[Finding]:
    """Git extended headers. Inside a hunk every line starts with ' ', '+', '-' or '\\', so a
    line that starts with one of these keywords is always a header, whatever unidiff makes of it."""
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        match = _METADATA_LINE.match(line)
        if not match:
            continue
        keyword, rest = match.group(1), match.group(2).strip()
        rule: tuple[str, Severity, str, str] | None = None
        if keyword in {"old mode", "new mode"}:
            rule = ("patch.mode_change", Severity.HIGH, f"The patch changes file mode ({keyword} {rest}).", "")
            if rest.startswith("120"):
                rule = ("patch.symlink", Severity.CRITICAL, "The patch turns the file into a symbolic link.", "")
        elif keyword == "new file mode":
            if rest.startswith("120"):
                rule = ("patch.symlink", Severity.CRITICAL, "The patch creates a symbolic link.", "")
            elif rest not in {"100644", "100600", "100640"}:
                rule = ("patch.mode_change", Severity.HIGH, f"The patch creates a file with mode {rest}.", "")
        elif keyword == "deleted file mode":
            rule = ("patch.deletion", Severity.HIGH, "The patch deletes a file.", "")
        elif keyword.startswith(("rename", "copy")):
            rule = ("patch.rename", Severity.HIGH, f"The patch renames or copies a file ({keyword}).", "")
        else:
            rule = ("patch.binary", Severity.HIGH, "The patch carries binary content that cannot be reviewed.", "")
        if rule is None:
            continue
        rule_id, severity, message, _ = rule
        if (rule_id, message) in seen:
            continue
        seen.add((rule_id, message))
        findings.append(Finding(rule_id, severity, message, number, "Configuration patches edit text in place only."))
    return findings


def _expected_paths(context: ValidationContext) -> list[str]:
    named = [
        str(component.get("name", ""))
        for component in context.rca_components
        if str(component.get("kind", "")).lower() in {"file", "config", "configuration"} and component.get("name")
    ]
    return named


def _clean_path(raw: str) -> str:
    path = raw.strip().split("\t")[0]
    if path.startswith(("a/", "b/")):
        path = path[2:]
    return path


def _has_escape(raw: str) -> bool:
    return ".." in _clean_path(raw).replace("\\", "/").split("/")


def _matches_expected(path: str, expected: list[str], allowed_prefixes: tuple[str, ...]) -> bool:
    relative = posixpath.normpath(path).lstrip("/")
    for wanted in expected:
        wanted_relative = posixpath.normpath(wanted).lstrip("/")
        if relative == wanted_relative or (not path.startswith("/") and wanted_relative.endswith("/" + relative)):
            return True
    for prefix in allowed_prefixes:
        prefix_relative = posixpath.normpath(prefix).lstrip("/")
        if relative == prefix_relative or relative.startswith(prefix_relative.rstrip("/") + "/"):
            return True
    return False


def _file_findings(
    patched: PatchedFile, context: ValidationContext, expected: list[str], *, single_file: bool
) -> list[Finding]:
    findings: list[Finding] = []
    source, target = patched.source_file or "", patched.target_file or ""
    for raw in (source, target):
        if raw and raw != _DEV_NULL and _has_escape(raw):
            findings.append(
                Finding(
                    "patch.path_escape",
                    Severity.CRITICAL,
                    f"The patch path {raw[:120]!r} climbs out of its directory with '..'.",
                    None,
                    "Use the plain path of the file being patched.",
                )
            )
            break
    if target == _DEV_NULL or patched.is_removed_file:
        findings.append(Finding("patch.deletion", Severity.HIGH, "The patch deletes the file.", None, "Edit in place."))
    if patched.is_binary_file:
        findings.append(Finding("patch.binary", Severity.HIGH, "The patch is binary.", None, "Send a text diff."))
    path = _clean_path(target if target != _DEV_NULL else source)
    if (expected or context.allowed_paths) and not _matches_expected(path, expected, context.allowed_paths):
        findings.append(
            Finding(
                "patch.unexpected_path",
                Severity.HIGH,
                f"The patch targets {path[:120]!r}, not the file the RCA names.",
                None,
                "Patch only: " + ", ".join(expected or context.allowed_paths),
            )
        )
    config_type = detect_config_type(path, _hunk_text(patched) + (context.current_config or ""))
    applied = _apply(patched, context.current_config if single_file else None)
    if applied.error is not None:
        findings.append(applied.error)
        return findings
    result_known = applied.lines is not None
    lines = applied.lines if applied.lines is not None else _hunk_lines(patched)
    removed = [
        ConfigLine(line.value.rstrip("\r\n"), line.diff_line_no, False)
        for hunk in patched
        for line in hunk
        if line.is_removed
    ]
    findings.extend(_content_findings(lines, removed, config_type, context, result_known, patched))
    return findings


def _hunk_text(patched: PatchedFile) -> str:
    return "".join(line.value for hunk in patched for line in hunk if not line.is_removed)[:20000]


def _hunk_lines(patched: PatchedFile) -> list[ConfigLine]:
    """Context and added lines in order: all that is known of the result without the file."""
    return [
        ConfigLine(line.value.rstrip("\r\n"), line.diff_line_no, line.is_added)
        for hunk in patched
        for line in hunk
        if line.is_added or line.is_context
    ]


def _apply(patched: PatchedFile, current: str | None) -> _Applied:
    """Apply hunks to ``current`` exactly where they say, like ``git apply --check`` (no fuzz)."""
    if patched.is_added_file or (patched.source_file or "") == _DEV_NULL:
        return _Applied(_hunk_lines(patched), None)
    if current is None:
        return _Applied(None, None)
    original = current.splitlines(keepends=True)
    result: list[ConfigLine] = []
    position = 0
    for hunk in patched:
        # A hunk that only adds lines inserts after line source_start; others start at it.
        start = hunk.source_start - 1 if hunk.source_length > 0 else hunk.source_start
        if start < position or start > len(original):
            return _Applied(None, _does_not_apply(hunk.source_start, "hunks overlap or start past the end of the file"))
        result.extend(ConfigLine(text.rstrip("\r\n"), None, False) for text in original[position:start])
        index = start
        for line in hunk:
            if line.is_added:
                result.append(ConfigLine(line.value.rstrip("\r\n"), line.diff_line_no, True))
                continue
            if not (line.is_context or line.is_removed):
                continue  # "\ No newline at end of file"
            if index >= len(original) or original[index].rstrip("\n") != line.value.rstrip("\n"):
                return _Applied(
                    None,
                    _does_not_apply(
                        line.diff_line_no,
                        f"line {index + 1} of the current file does not match the patch's "
                        f"{'context' if line.is_context else 'removed'} line",
                    ),
                )
            if line.is_context:
                result.append(ConfigLine(original[index].rstrip("\r\n"), line.diff_line_no, False))
            index += 1
        position = index
    result.extend(ConfigLine(text.rstrip("\r\n"), None, False) for text in original[position:])
    return _Applied(result, None)


def _does_not_apply(line: int | None, why: str) -> Finding:
    return Finding(
        "patch.does_not_apply",
        Severity.CRITICAL,
        f"The patch does not apply exactly to the current configuration: {why}.",
        line,
        "Regenerate the diff against the current file; patches are applied without fuzz or offset.",
    )


def detect_config_type(path: str, content: str) -> str:
    name = posixpath.basename(path).lower()
    lowered = path.lower()
    if name.startswith("pg_hba"):
        return PG_HBA
    if name.startswith("postgresql") and name.endswith(".conf"):
        return POSTGRESQL
    if "sshd_config" in lowered:
        return SSHD
    if "sudoers" in lowered:
        return SUDOERS
    if "redis" in name and name.endswith(".conf"):
        return REDIS
    if "nginx" in lowered or re.search(r"^\s*(server|location|upstream|http)\b[^\n;]*\{", content, re.MULTILINE):
        return NGINX
    if name.endswith((".yaml", ".yml")):
        return YAML
    if name.endswith(".json"):
        return JSON
    if name.startswith(".env") or name.endswith(".env"):
        return "env"
    if name.endswith((".ini", ".cfg", ".conf", ".properties", ".toml", ".cnf")):
        return INI
    return "generic"


def _content_findings(
    lines: list[ConfigLine],
    removed: list[ConfigLine],
    config_type: str,
    context: ValidationContext,
    result_known: bool,
    patched: PatchedFile,
) -> list[Finding]:
    findings = line_rule_findings(lines, config_type)
    added = [line for line in lines if line.added]
    findings.extend(removal_findings(removed, added, config_type))
    if config_type == PG_HBA:
        findings.extend(pg_hba_findings(lines))
    if config_type == SSHD and result_known:
        findings.extend(sshd_first_value_findings(lines))
    if config_type == NGINX:
        findings.extend(_nginx_findings(lines, context, result_known))
    if result_known and config_type in {YAML, JSON}:
        findings.extend(_parse_result(lines, config_type))
    return findings


_PROXY_TARGET = re.compile(r"^(?:proxy_pass|grpc_pass|fastcgi_pass|uwsgi_pass)\s+(?:\w+://)?([^/:;\s$]+)")
_UPSTREAM_SERVER = re.compile(r"^server\s+(?:unix:\S+|([^\s;:{]+))")
_UPSTREAM_BLOCK = re.compile(r"^\s*upstream\s+([\w.-]+)\s*\{")


def _nginx_findings(lines: list[ConfigLine], context: ValidationContext, result_known: bool) -> list[Finding]:
    findings: list[Finding] = []
    upstream_names = {match.group(1) for line in lines if (match := _UPSTREAM_BLOCK.match(line.text))}
    for line in lines:
        if not line.added or is_comment(line.text, NGINX):
            continue
        stripped = line.text.split("#", 1)[0].strip()
        if stripped and not stripped.endswith((";", "{", "}")):
            findings.append(
                Finding(
                    "nginx.unterminated_directive",
                    Severity.HIGH,
                    "An nginx directive does not end with ';': nginx reads it together with the next line.",
                    line.diff_line,
                    "End every directive with ';'.",
                )
            )
        if not context.allowed_hosts:
            continue
        for statement in statements(line.text, NGINX):
            proxy = _PROXY_TARGET.match(statement)
            server = _UPSTREAM_SERVER.match(statement) if not statement.startswith("server_name") else None
            host = proxy.group(1) if proxy else server.group(1) if server and server.group(1) else None
            if not host or host in upstream_names or host_allowed(host, context.allowed_hosts):
                continue
            if host in {"localhost", "127.0.0.1", "[::1]"}:
                continue
            findings.append(
                Finding(
                    "nginx.upstream_unlisted_host",
                    Severity.HIGH,
                    f"nginx now sends traffic to {host[:80]}, which is not among the allowed hosts.",
                    line.diff_line,
                    "Point upstreams only at hosts the RCA and the allowed hosts name.",
                )
            )
    if result_known:
        depth = 0
        for line in lines:
            if is_comment(line.text, NGINX):
                continue
            for char in _without_quotes(line.text.split("#", 1)[0]):
                depth += (char == "{") - (char == "}")
                if depth < 0:
                    break
            if depth < 0:
                break
        if depth != 0:
            findings.append(
                Finding(
                    "nginx.unbalanced_braces",
                    Severity.HIGH,
                    "The resulting nginx configuration has unbalanced braces; nginx will refuse to load it.",
                    None,
                    "Balance every '{' with a '}'.",
                )
            )
    return findings


def _without_quotes(text: str) -> str:
    return re.sub(r"\"[^\"]*\"|'[^']*'", "", text)


def _parse_result(lines: list[ConfigLine], config_type: str) -> list[Finding]:
    text = "\n".join(line.text for line in lines) + "\n"
    try:
        if config_type == JSON:
            json.loads(text)
        else:
            load_manifests(text)
    except (ValueError, ManifestLoadError) as error:
        detail = error.message if isinstance(error, ManifestLoadError) else str(error)
        return [
            Finding(
                "config.result_does_not_parse",
                Severity.HIGH,
                f"The patched {config_type.upper()} file no longer parses: {detail[:200]}",
                None,
                "Fix the indentation or syntax of the added lines.",
            )
        ]
    return []


def _side_effect(patched: PatchedFile) -> str:
    path = _clean_path(patched.target_file if patched.target_file != _DEV_NULL else patched.source_file)
    return f"edits {path}: +{patched.added} -{patched.removed} lines in {len(patched)} hunk(s)"


__all__ = ["detect_config_type", "validate"]
