"""psql backslash meta-commands: found before the SQL parser runs, because PostgreSQL's grammar never sees them.

``\\!`` runs a shell, ``\\gexec`` runs the output of a query as SQL, ``\\o |cmd`` pipes results to a shell,
``\\copy ... program`` runs a program, ``\\i`` pulls in an unreviewed file, and a backquote in any
meta-command argument is shell command substitution. Those become findings. Every meta-command is
blanked out (newlines kept, so line numbers stay right); the ones that end a query (``\\g``,
``\\gexec``, ``\\gset``...) leave a ``;`` behind so the statement before them still parses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from remediation.validation.types import Finding, Severity, ValidationContext

_HARMLESS = frozenset(
    {"set", "unset", "timing", "echo", "qecho", "warn", "pset", "a", "t", "x", "h", "help", "f", "c", "connect",
     "C", "T", "q", "quit", "l", "list", "conninfo", "encoding", "errverbose", "p", "print", "r", "reset",
     "if", "elif", "else", "endif", "prompt", "crosstabview", "gdesc", "bind", "sf", "sv", "z", "s", "cd",
     "getenv", "restrict", "unrestrict", "startpipeline", "endpipeline", "syncpipeline", "flush", "flushrequest",
     "getresults", "sendpipeline", "parse", "bind_named", "close_prepared", "H", "html"}
)  # fmt: skip
#: Meta-commands that send the query buffer, i.e. end the statement before them.
_TERMINATORS = frozenset({"g", "gx", "gexec", "gset", "gdesc", "crosstabview", "sendpipeline"})
_META = re.compile(r"\\([A-Za-z_!?+]+|!)")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\x80-\uffff][A-Za-z_0-9\x80-\uffff]*)?\$")
#: Characters where something other than plain SQL text may start.
_SPECIAL = re.compile(r"[\\'\"$:]|--|/\*")
_COMMENT_MARK = re.compile(r"/\*|\*/")
_STRING_BODY = re.compile(r"(?:[^']|'')*'")
_ESCAPE_STRING_BODY = re.compile(r"(?:[^'\\]|\\.|'')*'", re.DOTALL)
_VARIABLE = re.compile(r":(?:'([A-Za-z_][A-Za-z_0-9]*)'|\"([A-Za-z_][A-Za-z_0-9]*)\"|([A-Za-z_][A-Za-z_0-9]*))")


@dataclass(slots=True)
class MetaScan:
    """The SQL left after removing meta-commands, plus what the meta-commands themselves do."""

    sql: str
    findings: list[Finding] = field(default_factory=list)
    side_effects: list[str] = field(default_factory=list)


def strip_meta_commands(text: str, context: ValidationContext) -> MetaScan:
    out: list[str] = []
    scan = MetaScan(sql="")
    variables: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        special = _SPECIAL.search(text, i)
        if special is None:
            out.append(text[i:])
            break
        out.append(text[i : special.start()])
        i = special.start()
        ch = text[i]
        if ch == "\\":
            end = _meta_end(text, i)
            command_text = text[i:end]
            terminator = _classify(command_text, _line_at(text, i), context, scan, variables)
            out.append((";" if terminator else "") + " " * max(len(command_text) - 1, 0))
            i = end
            continue
        if ch == ":" and variables and not text.startswith("::", i) and (i == 0 or text[i - 1] != ":"):
            match = _VARIABLE.match(text, i)
            name = next((g for g in match.groups() if g), "") if match else ""
            if match and name in variables:
                value = variables[name]
                quoted = match.group(1) is not None
                out.append("'" + value.replace("'", "''") + "'" if quoted else value.replace("\n", " "))
                i = match.end()
                continue
        end = _skip_literal(text, i)
        out.append(text[i:end])
        i = end
    scan.sql = "".join(out)
    return scan


def _line_at(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _meta_end(text: str, start: int) -> int:
    """A meta-command runs to the end of its line, or to a ``\\\\`` separator."""
    newline = text.find("\n", start)
    end = len(text) if newline < 0 else newline
    separator = text.find("\\\\", start + 1, end)
    return separator if separator >= 0 else end


def _skip_literal(text: str, i: int) -> int:
    """Index just after the literal, comment or single character starting at ``i``."""
    ch = text[i]
    if text.startswith("--", i):
        newline = text.find("\n", i)
        return len(text) if newline < 0 else newline
    if text.startswith("/*", i):
        depth, j = 1, i + 2
        while depth:
            mark = _COMMENT_MARK.search(text, j)
            if mark is None:
                return len(text)
            depth += 1 if mark.group(0) == "/*" else -1
            j = mark.end()
        return j
    if ch == "'":
        escapes = i > 0 and text[i - 1] in "eE" and (i < 2 or not (text[i - 2].isalnum() or text[i - 2] == "_"))
        body = (_ESCAPE_STRING_BODY if escapes else _STRING_BODY).match(text, i + 1)
        return body.end() if body is not None else len(text)
    if ch == '"':
        close = text.find('"', i + 1)
        return len(text) if close < 0 else close + 1
    if ch == "$" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
        match = _DOLLAR_TAG.match(text, i)
        if match:
            close = text.find(match.group(0), match.end())
            return len(text) if close < 0 else close + len(match.group(0))
    return i + 1


def _classify(
    command_text: str,
    line: int,
    context: ValidationContext,
    scan: MetaScan,
    variables: dict[str, str],
) -> bool:
    """Record what one meta-command does; return True when it ends the current query."""
    match = _META.match(command_text)
    if match is None:
        _add(
            scan,
            "sql.psql_unknown_meta",
            Severity.MEDIUM,
            line,
            f"Unrecognised psql input {command_text!r}.",
        )
        return False
    name = match.group(1)
    args = command_text[match.end() :].strip()
    if name == "!" or name.startswith("!"):
        _add(
            scan,
            "sql.psql_shell",
            Severity.CRITICAL,
            line,
            f"psql \\! runs a shell command: {args[:80]!r}.",
        )
        return False
    if "`" in args:
        _add(
            scan,
            "sql.psql_shell",
            Severity.CRITICAL,
            line,
            f"Backquotes in psql \\{name} arguments run a shell command.",
        )
    lowered = name.lower()
    if lowered == "gexec":
        _add(
            scan,
            "sql.psql_gexec",
            Severity.CRITICAL,
            line,
            "psql \\gexec executes every value the query returns as a new SQL statement: what runs is unknown.",
        )
        return True
    if lowered in {"g", "gx", "o", "out", "w", "write"}:
        if args.startswith("|"):
            _add(
                scan,
                "sql.psql_shell",
                Severity.CRITICAL,
                line,
                f"psql \\{name} pipes output to a shell: {args!r}.",
            )
        elif args:
            _add(
                scan,
                "sql.psql_output_file",
                Severity.MEDIUM,
                line,
                f"psql \\{name} writes a local file {args!r}.",
            )
        return lowered in _TERMINATORS
    if lowered == "copy":
        words = args.lower().split()
        if "program" in words:
            _add(
                scan,
                "sql.psql_copy_program",
                Severity.CRITICAL,
                line,
                "psql \\copy ... program runs a shell command.",
            )
        elif not {"stdin", "stdout", "pstdin", "pstdout"} & set(words):
            _add(
                scan,
                "sql.psql_copy_file",
                Severity.MEDIUM,
                line,
                "psql \\copy reads or writes a client-side file.",
            )
        return False
    if lowered in {"i", "ir", "include", "include_relative"}:
        _add(
            scan,
            "sql.psql_include",
            Severity.HIGH,
            line,
            f"psql \\{name} runs SQL from {args!r}, which this validation never saw.",
        )
        return False
    if lowered in {"c", "connect"}:
        _check_connect(args, line, context, scan)
        return False
    if lowered == "set":
        parts = args.split(None, 1)
        if parts:
            variables[parts[0]] = parts[1].strip().strip("'") if len(parts) > 1 else ""
        return False
    if lowered == "password":
        _add(
            scan,
            "sql.role_password_change",
            Severity.HIGH,
            line,
            "psql \\password changes a role's password.",
        )
        return False
    if lowered in {"lo_import", "lo_export", "lo_unlink"}:
        _add(
            scan,
            "sql.psql_large_object",
            Severity.HIGH,
            line,
            f"psql \\{name} moves files in or out of the database.",
        )
        return False
    if lowered in {"setenv", "e", "edit", "ef", "ev"}:
        _add(
            scan,
            "sql.psql_environment",
            Severity.MEDIUM,
            line,
            f"psql \\{name} changes the client environment.",
        )
        return False
    if lowered in _TERMINATORS:
        return True
    if name in _HARMLESS or lowered in _HARMLESS or lowered.startswith("d"):
        return False
    _add(
        scan,
        "sql.psql_unknown_meta",
        Severity.MEDIUM,
        line,
        f"Unrecognised psql meta-command \\{name}.",
    )
    return False


def _check_connect(args: str, line: int, context: ValidationContext, scan: MetaScan) -> None:
    first = args.split()[0] if args.split() else ""
    database = first
    for word in args.split():
        if word.startswith("dbname="):
            database = word.removeprefix("dbname=").strip("'\"")
    if first.startswith(("postgres://", "postgresql://")):
        database = first.rsplit("/", 1)[-1].split("?", 1)[0]
    database = database.strip("'\"")
    if database and database != "-":
        scan.side_effects.append(f"connects to database {database}")
    if context.allowed_databases and database and database != "-" and database not in context.allowed_databases:
        _add(
            scan,
            "sql.scope_database",
            Severity.HIGH,
            line,
            f"psql \\connect switches to database {database!r}, outside the allowed "
            f"{', '.join(context.allowed_databases)}.",
        )


_HINTS = {
    "sql.psql_shell": "Remove shell access from the SQL script; run OS steps as a separate reviewed script.",
    "sql.psql_gexec": "Write the generated statements out so they can be reviewed.",
    "sql.psql_copy_program": "Use \\copy ... to/from stdout/stdin instead of a program.",
    "sql.psql_copy_file": "Use \\copy with stdin/stdout, or attach the data to the remediation.",
    "sql.psql_output_file": "Let the runner capture output instead of writing files.",
    "sql.psql_include": "Inline the included SQL so it is validated.",
    "sql.scope_database": "Target only the databases the RCA names.",
    "sql.role_password_change": "Rotate credentials through the secret manager.",
    "sql.psql_large_object": "Do not move files through large objects in a remediation.",
    "sql.psql_environment": "Remove the meta-command.",
    "sql.psql_unknown_meta": "Use plain SQL; only harmless psql settings (\\set, \\timing, \\echo) are accepted.",
}


def _add(scan: MetaScan, rule_id: str, severity: Severity, line: int, message: str) -> None:
    scan.findings.append(Finding(rule_id, severity, message, line, _HINTS.get(rule_id, "")))
