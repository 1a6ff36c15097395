"""Bash validator: strict parse, ShellCheck, then safety rules over a normalised syntax tree.

Parser choice. tree-sitter-bash is the tree the rules walk: it runs in-process (no subprocess
per embedded snippet), gives byte spans and line numbers, and its MIT licence keeps the combined
work permissive. It is error-tolerant, so any ``ERROR`` or ``MISSING`` node fails the script
closed (``syntax.bash.parse_error``, critical): a region the tree does not describe is a region
the rules could not see. Because tree-sitter also accepts some text bash rejects, ``shfmt
--to-json -ln bash`` (mvdan/sh, a strict bash grammar, BSD-3) is run as the grammar gate
(``syntax.bash.shfmt``). ShellCheck (GPL-3.0, run only as a separate process, which does not
bind this code) adds lint findings; SC2115/SC2114 raise the severity of delete findings.
bashlex was rejected: it fails on ``case``, ``[[``, arrays and ``$((`` and is GPL in-process.

Entry point: :func:`validate` (called by :func:`remediation.validation.engine.validate_script`).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import tree_sitter_bash
from tree_sitter import Language as TSLanguage
from tree_sitter import Node, Parser

from remediation.validation.bash_rules import RULES, SCOPE_RULES, CommandRules
from remediation.validation.bash_walk import Command, Walker
from remediation.validation.bash_words import Value, Word
from remediation.validation.types import Finding, LanguageReport, Limit, Severity, ValidationContext

#: Trees deeper than this are refused instead of walked (10k nested ``$(`` must not recurse).
MAX_TREE_DEPTH = 250
#: Embedded code nested deeper than this (bash -c "bash -c '...'") is refused.
MAX_EMBED_DEPTH = 4
MAX_SIDE_EFFECTS = 40

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u00ad]")

#: ShellCheck codes whose level is raised because they point at destructive mistakes.
SHELLCHECK_SEVERITY: dict[int, Severity] = {
    2115: Severity.HIGH,  # rm -rf "$var/"* may delete /*
    2114: Severity.HIGH,  # rm -rf /usr /lib/x: a stray space deletes a system directory
    2216: Severity.LOW,
}
_SHELLCHECK_LEVEL = {"error": Severity.LOW, "warning": Severity.LOW, "info": Severity.INFO, "style": Severity.INFO}


@lru_cache(maxsize=1)
def _parser() -> Parser:
    return Parser(TSLanguage(tree_sitter_bash.language()))


def _tool(name: str) -> str | None:
    """The tool next to the running interpreter (the virtualenv) first, then PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    return shutil.which(name)


@lru_cache(maxsize=1)
def tool_versions() -> dict[str, str]:
    versions = {
        "tree-sitter-bash": _package_version("tree-sitter-bash"),
        "tree-sitter": _package_version("tree-sitter"),
    }
    shellcheck = _tool("shellcheck")
    versions["shellcheck"] = "unavailable"
    if shellcheck:
        try:
            out = subprocess.run(
                [shellcheck, "--version"], capture_output=True, text=True, timeout=Limit.TOOL_TIMEOUT_SECONDS
            )
            match = re.search(r"version:\s*(\S+)", out.stdout)
            versions["shellcheck"] = match.group(1) if match else "unknown"
        except (OSError, subprocess.SubprocessError):
            pass
    shfmt = _tool("shfmt")
    versions["shfmt"] = "unavailable"
    if shfmt:
        try:
            out = subprocess.run(
                [shfmt, "--version"], capture_output=True, text=True, timeout=Limit.TOOL_TIMEOUT_SECONDS
            )
            versions["shfmt"] = out.stdout.strip() or "unknown"
        except (OSError, subprocess.SubprocessError):
            pass
    return versions


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


# ---------------------------------------------------------------------------------------------
# Analysis of one script (the sink the rules report into)


@dataclass
class _Analysis:
    context: ValidationContext
    depth: int = 0
    origin: str = ""
    line_base: int = 0
    findings: list[Finding] = field(default_factory=list)
    side_effects: list[str] = field(default_factory=list)
    downloads: set[str] = field(default_factory=set)
    written_scripts: dict[str, str] = field(default_factory=dict)
    #: variables visible to embedded code (a trap handler sees the script's variables)
    inherited_env: dict[str, Value] = field(default_factory=dict)
    walker: Walker | None = None
    _seen: set[tuple[str, int, str]] = field(default_factory=set)
    _embedded_seen: set[tuple[str, str]] = field(default_factory=set)

    def _line(self, line: int | None) -> int | None:
        if line is None:
            return None
        return line if not self.origin else self.line_base

    def emit(self, rule_id: str, line: int, message: str, severity: Severity | None = None) -> None:
        spec = RULES.get(rule_id) or SCOPE_RULES.get(rule_id)
        sev = severity or (spec.severity if spec else Severity.MEDIUM)
        text = message if not self.origin else f"{message} (in {self.origin})"
        self.add(Finding(rule_id, sev, text, self._line(line), spec.hint if spec else ""))

    def add(self, finding: Finding) -> None:
        key = (finding.rule_id, finding.line or 0, finding.message)
        if key in self._seen:
            return
        self._seen.add(key)
        self.findings.append(finding)

    def side_effect(self, text: str) -> None:
        if self.origin:
            text = f"{text} (via {self.origin})"
        if text not in self.side_effects and len(self.side_effects) < MAX_SIDE_EFFECTS:
            self.side_effects.append(text)

    def embedded(self, code: str, language: str, line: int, origin: str) -> None:
        outer_line = self._line(line) or line
        key = (language, code)
        if key in self._embedded_seen or not code.strip():
            return
        self._embedded_seen.add(key)
        where = f"{origin} at line {outer_line}"
        if language == "bash":
            if self.depth >= MAX_EMBED_DEPTH:
                self.emit("bash.eval_dynamic", line, f"code nested more than {MAX_EMBED_DEPTH} levels deep")
                return
            nested = _Analysis(
                self.context,
                depth=self.depth + 1,
                origin=where,
                line_base=outer_line,
                downloads=self.downloads,
                written_scripts=self.written_scripts,
                inherited_env=dict(self.walker.words.env) if self.walker else {},
            )
            _analyse(code, nested, run_tools=False)
            for finding in nested.findings:
                self.add(finding)
            for effect in nested.side_effects:
                self.side_effect(effect)
            return
        if language == "crontab":
            for cron_line in code.splitlines():
                fields = cron_line.split(None, 5)
                if len(fields) == 6 and not cron_line.lstrip().startswith("#"):
                    self.embedded(fields[5], "bash", line, "crontab entry")
            return
        if language not in ("python", "sql", "kubernetes"):
            self.emit("embedded.unvalidated", line, f"{language} code in {origin} is not validated")
            return
        self._validate_other_language(code, language, line, where)

    def _validate_other_language(self, code: str, language: str, line: int, where: str) -> None:
        if language == "python":
            _python_fallback(code, self, line)
        try:
            from remediation.validation.engine import validate_script  # lazy: validators import each other

            result = validate_script(code, language=language, context=self.context)
        except (ImportError, AttributeError) as exc:
            self.emit(
                "embedded.unvalidated",
                line,
                f"{language} code in {where} was not validated (validator unavailable: {type(exc).__name__})",
            )
            return
        except Exception as exc:  # noqa: BLE001 - a sibling validator's bug must not crash bash validation
            self.emit(
                "embedded.unvalidated", line, f"{language} validator failed on code in {where}: {type(exc).__name__}"
            )
            return
        outer_line = self._line(line)
        for finding in result.findings:
            self.add(
                Finding(
                    finding.rule_id,
                    finding.severity,
                    f"{finding.message} (in {language} from {where}, its line {finding.line})",
                    outer_line,
                    finding.hint,
                )
            )
        for effect in result.side_effects:
            self.side_effect(f"{effect} ({language} from {where})")


def _python_fallback(code: str, sink: _Analysis, line: int) -> None:
    """Bash-side view of python -c: shell commands it runs, and reverse-shell shapes.

    The python validator owns Python semantics; this only makes sure a reverse shell or an
    os.system("rm -rf /") in a one-liner is caught even while that validator is missing.
    """
    if re.search(r"\bsocket\b", code) and re.search(r"pty\.spawn|os\.dup2|subprocess", code):
        sink.emit("bash.reverse_shell", line, "python code connects a socket to a shell")
    for match in re.finditer(r"""(?:os\.system|os\.popen|subprocess\.\w+)\(\s*(?:f?r?)(['"])(.+?)\1""", code):
        sink.embedded(match.group(2), "bash", line, "python os.system")
    if re.search(r"pty\.spawn", code):
        sink.emit("bash.reverse_shell", line, "python pty.spawn opens an interactive shell")


def _tree_depth_exceeds(root: Node, limit: int) -> bool:
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in node.children)
    return False


def _first_error(root: Node) -> Node | None:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            return node
        if node.has_error:
            stack.extend(reversed(node.children))
    return None


def _fork_bomb(node: Node, walker: Walker, sink: _Analysis) -> None:
    """A function whose body pipes into itself or backgrounds itself: ``:(){ :|:& };:``."""
    if node.type != "function_definition":
        return
    name_node = node.child_by_field_name("name")
    body = node.child_by_field_name("body")
    if name_node is None or body is None:
        return
    name = walker.text(name_node)
    calls = 0
    piped = False
    stack = [body]
    while stack:
        current = stack.pop()
        if current.type == "command":
            cname = current.child_by_field_name("name")
            if cname is not None and walker.text(cname) == name:
                calls += 1
                parent = current.parent
                if parent is not None and parent.type == "pipeline":
                    piped = True
        if current.type == "&":
            piped = piped or calls > 0
        stack.extend(current.children)
    body_text = walker.text(body)
    if (calls >= 2 and piped) or (calls >= 1 and "&" in body_text and piped):
        sink.emit("bash.fork_bomb", node.start_point[0] + 1, f"function '{name}' spawns copies of itself (fork bomb)")


_LOOP_EXITS = {"sleep", "break", "exit", "return", "read", "wait", "timeout", "inotifywait", "tail", "nc", "socat"}


def _busy_loop(node: Node, walker: Walker, sink: _Analysis) -> None:
    """``while :; do :; done``: an endless loop with nothing that waits or leaves burns a CPU forever."""
    if node.type not in ("while_statement", "until_statement"):
        return
    condition = node.child_by_field_name("condition")
    body = node.child_by_field_name("body")
    if condition is None or body is None:
        return
    cond = walker.text(condition).strip().rstrip(";").strip()
    endless = (
        cond in (":", "true", "/bin/true", "[ 1 ]", "((1))") if node.type == "while_statement" else cond == "false"
    )
    if not endless:
        return
    stack = [body]
    while stack:
        current = stack.pop()
        if current.type == "command":
            name = current.child_by_field_name("name")
            if name is not None and walker.text(name).rsplit("/", 1)[-1] in _LOOP_EXITS:
                return
        stack.extend(current.children)
    sink.emit(
        "bash.fork_bomb",
        node.start_point[0] + 1,
        "endless loop with no sleep, wait or exit burns a CPU forever",
        Severity.HIGH,
    )


def _analyse(text: str, sink: _Analysis, *, run_tools: bool) -> None:
    source = text.encode("utf-8", "surrogatepass")
    tree = _parser().parse(source)
    root = tree.root_node
    if _tree_depth_exceeds(root, MAX_TREE_DEPTH):
        sink.emit("syntax.bash.too_deep", 1, f"the script nests deeper than {MAX_TREE_DEPTH} levels; it is refused")
        sink.findings[-1] = Finding(
            "syntax.bash.too_deep",
            Severity.CRITICAL,
            sink.findings[-1].message,
            sink.findings[-1].line,
            "Flatten the script.",
        )
        return
    error = _first_error(root)
    if error is not None:
        snippet = source[error.start_byte : min(error.end_byte, error.start_byte + 40)].decode("utf-8", "replace")
        what = f"missing '{error.type}'" if error.is_missing else f"unparsable text {snippet!r}"
        sink.add(
            Finding(
                "syntax.bash.parse_error",
                Severity.CRITICAL,
                f"bash parse error: {what}" + (f" (in {sink.origin})" if sink.origin else ""),
                sink._line(error.start_point[0] + 1),
                "Fix the syntax; a script that does not parse is not run.",
            )
        )
        return
    rules = CommandRules(sink)
    walker: Walker

    def on_command(cmd: Command) -> None:
        rules.check(cmd)

    def on_assignment(name: str, value: Word | None, line: int, exported: bool) -> None:
        rules.check_assignment(name, value, line, exported)

    def on_node(node: Node, w: Walker) -> None:
        _fork_bomb(node, w, sink)
        _busy_loop(node, w, sink)

    walker = Walker(source, on_command, on_assignment, on_node)
    walker.words.env.update(sink.inherited_env)
    walker.words.assigned.update(sink.inherited_env)
    sink.walker = walker
    try:
        walker.walk(root)
        rules.finish()
    except RecursionError:
        sink.add(
            Finding(
                "syntax.bash.too_deep",
                Severity.CRITICAL,
                "the script nests too deeply to analyse",
                1,
                "Flatten the script.",
            )
        )
    for line_no, line in enumerate(text.splitlines(), start=1):
        if _INVISIBLE.search(line):
            sink.emit(
                "bash.invisible_unicode",
                line_no,
                "invisible or bidi-control characters: " + line.encode("unicode_escape").decode()[:80],
            )
            break


def _shfmt_gate(text: str) -> Finding | None:
    shfmt = _tool("shfmt")
    if shfmt is None:
        return None
    try:
        proc = subprocess.run(
            [shfmt, "--to-json", "-ln", "bash"],
            input=text.encode("utf-8", "surrogatepass"),
            capture_output=True,
            timeout=Limit.TOOL_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return Finding(
            "syntax.bash.shfmt", Severity.CRITICAL, "shfmt timed out parsing the script", None, "Simplify the script."
        )
    except OSError:
        return None
    if proc.returncode == 0:
        return None
    message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    first = message[0] if message else "parse error"
    match = re.match(r"(?:<standard input>:)?(\d+):(\d+): (.*)", first)
    line = int(match.group(1)) if match else None
    return Finding(
        "syntax.bash.shfmt",
        Severity.CRITICAL,
        f"bash grammar error: {match.group(3) if match else first}",
        line,
        "Fix the syntax; a script that does not parse is not run.",
    )


def _start_shellcheck(text: str) -> subprocess.Popen[bytes] | None:
    shellcheck = _tool("shellcheck")
    if shellcheck is None:
        return None
    try:
        proc = subprocess.Popen(
            [shellcheck, "-f", "json1", "-s", "bash", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except OSError:
        return None
    return proc


def _finish_shellcheck(proc: subprocess.Popen[bytes] | None, text: str) -> tuple[list[Finding], set[int]]:
    if proc is None:
        return [
            Finding("shellcheck.unavailable", Severity.INFO, "ShellCheck is not installed; lint skipped", None, "")
        ], set()
    try:
        out, _err = proc.communicate(text.encode("utf-8", "surrogatepass"), timeout=Limit.TOOL_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return [
            Finding(
                "shellcheck.timeout",
                Severity.MEDIUM,
                "ShellCheck timed out; lint incomplete",
                None,
                "Simplify the script.",
            )
        ], set()
    try:
        comments = json.loads(out.decode("utf-8", "replace") or "{}").get("comments", [])
    except (json.JSONDecodeError, AttributeError):
        return [Finding("shellcheck.unreadable", Severity.LOW, "ShellCheck output could not be read", None, "")], set()
    findings: list[Finding] = []
    codes: set[int] = set()
    for c in comments:
        code = int(c.get("code", 0))
        codes.add(code)
        level = str(c.get("level", "info"))
        severity = SHELLCHECK_SEVERITY.get(code) or _SHELLCHECK_LEVEL.get(level, Severity.INFO)
        if code < 2000 and level == "error":
            # ShellCheck's own parser disagrees with the grammar gate: fail closed at HIGH strictness.
            severity = Severity.MEDIUM
        findings.append(
            Finding(
                f"shellcheck.SC{code}",
                severity,
                f"SC{code}: {c.get('message', '')}",
                c.get("line"),
                f"https://www.shellcheck.net/wiki/SC{code}",
            )
        )
    return findings, codes


def validate(text: str, context: ValidationContext) -> LanguageReport:
    """Validate a bash script; never raises on bad input (the engine has refused empty/huge/NUL)."""
    text = text.replace("\x00", "")
    sink = _Analysis(context)
    root = _parser().parse(text.encode("utf-8", "surrogatepass")).root_node
    if _tree_depth_exceeds(root, MAX_TREE_DEPTH):
        # Refused before any tool runs: ShellCheck and shfmt take seconds on such input.
        sink.add(
            Finding(
                "syntax.bash.too_deep",
                Severity.CRITICAL,
                f"the script nests deeper than {MAX_TREE_DEPTH} levels; it is refused",
                1,
                "Flatten the script.",
            )
        )
        return LanguageReport(findings=sink.findings, side_effects=[], versions=tool_versions())
    shellcheck = _start_shellcheck(text)
    gate = _shfmt_gate(text)
    if gate is not None:
        sink.add(gate)
    try:
        _analyse(text, sink, run_tools=True)
    except RecursionError:
        sink.add(
            Finding(
                "syntax.bash.too_deep",
                Severity.CRITICAL,
                "the script nests too deeply to analyse",
                1,
                "Flatten the script.",
            )
        )
    if "\r" in text:
        sink.add(
            Finding(
                "bash.carriage_return",
                Severity.MEDIUM,
                "carriage returns (\\r) in the script: bash keeps "
                "them in words, so what runs differs from what reviewers read",
                None,
                "Use Unix line endings.",
            )
        )
    lint, codes = _finish_shellcheck(shellcheck, text)
    own_unguarded = {f.line for f in sink.findings if f.rule_id == "bash.rm_unguarded_var"}
    lint = [
        Finding(
            f.rule_id,
            Severity.LOW,
            f"{f.message} (the variable is set to a literal earlier in the script)",
            f.line,
            f.hint,
        )
        if f.rule_id == "shellcheck.SC2115" and f.line not in own_unguarded
        else f
        for f in lint
    ]
    findings = sink.findings + lint
    if own_unguarded or 2114 in codes:
        findings = [
            Finding(
                f.rule_id,
                Severity.CRITICAL if f.rule_id.startswith("bash.rm_") and f.severity is Severity.HIGH else f.severity,
                f.message,
                f.line,
                f.hint,
            )
            for f in findings
        ]
    return LanguageReport(findings=findings, side_effects=sink.side_effects, versions=tool_versions())


def analyse_commands(text: str, context: ValidationContext) -> list[Finding]:
    """Rules only (no ShellCheck, no shfmt): used by the rule self-tests and by embedded bash."""
    sink = _Analysis(context)
    _analyse(text, sink, run_tools=False)
    return sink.findings
