"""PostgreSQL validator: psql meta-command pre-scan, the real grammar (pglast), then safety rules.

Licence: pglast binds libpg_query, the PostgreSQL parser itself, and is GPL-3.0-or-later. The
project is GPL-3.0-or-later too (pyproject ``license``), so importing pglast in-process is fine.

Pipeline:

1. :func:`remediation.validation.sql_psql.strip_meta_commands` finds psql backslash commands
   outside literals and comments; dangerous ones become findings, all are blanked out so the SQL
   that remains still parses with its original line numbers.
2. ``pglast.parse_sql``; a parse error fails the script (rule ``syntax.sql``).
3. Every node of every statement is walked, CTEs and sub-selects included, with its ancestors so a
   rule can look at the enclosing statement (``pg_terminate_backend`` needs its WHERE).
4. DO blocks and PL/pgSQL function bodies go through ``parse_plpgsql``: ``EXECUTE`` of dynamic text
   is critical, static embedded statements are fed back through the same rules.

Rule catalogue with examples: docs/rules/sql.md.
"""

from __future__ import annotations

import bisect
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pglast
from pglast import ast, enums
from pglast.parser import ParseError

from remediation.validation.sql_psql import MetaScan, strip_meta_commands
from remediation.validation.types import (
    Finding,
    LanguageReport,
    Severity,
    ValidationContext,
)

#: Nesting depth beyond which a statement is refused instead of walked (pathological input).
_MAX_WALK_DEPTH = 400
#: A remediation with more statements than this is not reviewable; it is refused (and not slowly walked).
MAX_STATEMENTS = 2000
#: DO blocks nest other DO blocks through EXECUTE strings; stop somewhere.
_MAX_EMBED_DEPTH = 4

_UNTRUSTED_LANGUAGES = frozenset(
    {
        "plpython3u",
        "plpythonu",
        "plpython2u",
        "plperlu",
        "pltclu",
        "plsh",
        "c",
        "internal",
    }
)
#: Extensions that reach the server filesystem, the OS or other servers.
_DANGEROUS_EXTENSIONS = frozenset(
    {"plpython3u", "plpythonu", "plpython2u", "plperlu", "pltclu", "plsh", "dblink", "adminpack", "file_fdw",
     "postgres_fdw", "lo", "pg_execute_server_program", "pgexec", "untrusted"}
)  # fmt: skip
_SERVER_FILE_FUNCTIONS = frozenset(
    {"pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "lo_import", "lo_export", "pg_file_write",
     "pg_file_unlink", "pg_file_rename", "pg_file_sync"}
)  # fmt: skip
_WRITING_FILE_FUNCTIONS = frozenset({"lo_export", "pg_file_write", "pg_file_unlink", "pg_file_rename"})
_DBLINK_FUNCTIONS = frozenset(
    {
        "dblink",
        "dblink_exec",
        "dblink_connect",
        "dblink_connect_u",
        "dblink_open",
        "dblink_send_query",
    }
)
#: Settings whose change loses durability or runs programs: critical under ALTER SYSTEM.
_CRITICAL_SYSTEM_SETTINGS = frozenset(
    {"fsync", "full_page_writes", "synchronous_commit", "archive_command", "restore_command", "archive_library",
     "shared_preload_libraries", "session_preload_libraries", "local_preload_libraries", "ssl", "listen_addresses",
     "wal_level", "data_sync_retry", "zero_damaged_pages", "ignore_checksum_failure", "log_statement",
     "password_encryption", "dynamic_library_path"}
)  # fmt: skip
_DANGEROUS_SESSION_SETTINGS = frozenset(
    {
        "zero_damaged_pages",
        "ignore_checksum_failure",
        "allow_system_table_mods",
        "ignore_system_indexes",
    }
)
_PRIVILEGED_ROLE_OPTIONS = frozenset({"superuser", "createrole", "replication", "bypassrls"})
_SERVER_ROLES = frozenset(
    {"pg_execute_server_program", "pg_read_server_files", "pg_write_server_files", "pg_signal_backend",
     "pg_read_all_data", "pg_write_all_data", "pg_checkpoint", "pg_create_subscription", "postgres"}
)  # fmt: skip
#: pg_stat_activity columns whose predicates narrow which sessions a terminate loop hits.
_SESSION_FILTER_COLUMNS = frozenset(
    {"state", "state_change", "query_start", "xact_start", "backend_start", "application_name", "usename",
     "datname", "wait_event", "wait_event_type", "backend_type", "client_addr", "pid", "query", "usesysid",
     "granted", "mode", "locktype", "relation", "virtualtransaction",
     "backend_xid", "client_hostname", "leader_pid"}
)  # fmt: skip
_BACKEND_SIGNAL_FUNCTIONS = frozenset({"pg_terminate_backend", "pg_cancel_backend"})

_DROP_CRITICAL = {
    enums.ObjectType.OBJECT_TABLE: "table",
    enums.ObjectType.OBJECT_SCHEMA: "schema",
    enums.ObjectType.OBJECT_MATVIEW: "materialized view",
    enums.ObjectType.OBJECT_FOREIGN_TABLE: "foreign table",
    enums.ObjectType.OBJECT_DATABASE: "database",
    enums.ObjectType.OBJECT_TABLESPACE: "tablespace",
}
_DDL_NODES = (
    ast.AlterTableStmt,
    ast.IndexStmt,
    ast.DropStmt,
    ast.RenameStmt,
    ast.TruncateStmt,
    ast.CreateTrigStmt,
    ast.ClusterStmt,
    ast.ReindexStmt,
)


@dataclass(slots=True)
class _State:
    """Accumulated while the statements of one script are checked, in order."""

    context: ValidationContext
    text: str
    findings: list[Finding] = field(default_factory=list)
    side_effects: list[str] = field(default_factory=list)
    lock_timeout_set: bool = False
    ddl_line: int | None = None
    created_tables: set[str] = field(default_factory=set)

    def add(
        self,
        rule_id: str,
        severity: Severity,
        line: int | None,
        message: str,
        hint: str,
    ) -> None:
        self.findings.append(Finding(rule_id, severity, message, line, hint))


def validate(text: str, context: ValidationContext) -> LanguageReport:
    """Validate PostgreSQL ``text`` (optionally with psql meta-commands); never raises."""
    state = _State(context=context, text=text)
    try:
        _validate_into(state, text)
    except RecursionError:
        state.add(
            "syntax.sql",
            Severity.CRITICAL,
            None,
            "The SQL is nested too deeply to be checked.",
            "Flatten the statement; generated remediations never need this depth.",
        )
    except Exception as error:  # noqa: BLE001 - fail closed: a crash in a rule must not pass or raise
        state.add(
            "sql.validator_error",
            Severity.HIGH,
            None,
            f"The SQL could not be fully checked ({type(error).__name__}).",
            "Simplify the script or report the input to the maintainers.",
        )
    return LanguageReport(
        findings=_dedupe(state.findings),
        side_effects=state.side_effects,
        versions=versions(),
    )


@functools.cache
def versions() -> dict[str, str]:
    major, minor = pglast.parser.get_postgresql_version()
    return {"pglast": pglast.__version__.lstrip("v"), "libpg_query": f"{major}.{minor}"}


def _validate_into(state: _State, text: str) -> None:
    text = text.removeprefix("\ufeff")  # a byte-order mark is not part of the SQL
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        state.add(
            "syntax.sql",
            Severity.CRITICAL,
            None,
            "The script contains characters that are not valid Unicode text (lone surrogates).",
            "Submit the script as UTF-8 text.",
        )
        return
    scan: MetaScan = strip_meta_commands(text, state.context)
    state.findings.extend(scan.findings)
    state.side_effects.extend(scan.side_effects)
    try:
        statements = _parse(scan.sql)
    except TooManyStatements as error:
        state.add(
            "sql.too_many_statements",
            Severity.CRITICAL,
            None,
            f"The script has {error.args[0]} statements (more than {MAX_STATEMENTS}); it is refused unchecked.",
            "Split the remediation; a reviewer cannot follow thousands of statements.",
        )
        return
    except ParseError as error:
        message, location = (*error.args, None)[:2] if error.args else ("syntax error", None)
        line = _Lines(scan.sql).at(location) if isinstance(location, int) else None
        state.add(
            "syntax.sql",
            Severity.CRITICAL,
            line,
            f"PostgreSQL cannot parse the script: {message}.",
            "Fix the syntax; the script is checked with the real PostgreSQL grammar.",
        )
        return
    lines = _Lines(scan.sql)
    for raw in statements:
        if raw.stmt is not None:
            _check_statement(state, raw.stmt, lines, lines.at(raw.stmt_location), depth=0)
    if state.ddl_line is not None and not state.lock_timeout_set:
        state.add(
            "sql.ddl_without_lock_timeout",
            Severity.LOW,
            state.ddl_line,
            "DDL runs without SET lock_timeout: waiting for its lock can queue every other query behind it.",
            "Start with SET lock_timeout = '5s'; and retry on timeout.",
        )


def validate_embedded(text: str, context: ValidationContext) -> LanguageReport:
    """Check SQL found inside another language (Python ``cursor.execute``): same rules, no psql pre-scan
    side effects beyond what the text holds; the caller re-anchors line numbers."""
    return validate(text, context)


# --- walking -----------------------------------------------------------------------------------------------------


def _children(node: ast.Node) -> Iterator[ast.Node]:
    for name in getattr(type(node), "__slots__", ()):
        value = getattr(node, name, None)
        yield from _nodes_in(value)


def _nodes_in(value: Any) -> Iterator[ast.Node]:
    if isinstance(value, ast.Node):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _nodes_in(item)


def _walk(node: ast.Node, ancestors: tuple[ast.Node, ...] = ()) -> Iterator[tuple[ast.Node, tuple[ast.Node, ...]]]:
    """Every node below ``node`` with its ancestors, depth-first, without recursion limits of its own."""
    stack: list[tuple[ast.Node, tuple[ast.Node, ...]]] = [(node, ancestors)]
    while stack:
        current, parents = stack.pop()
        if len(parents) > _MAX_WALK_DEPTH:
            raise RecursionError("statement nested too deeply")
        yield current, parents
        below = (*parents, current)
        stack.extend((child, below) for child in reversed(list(_children(current))))


def _check_statement(state: _State, stmt: ast.Node, sql: _Lines, line: int, *, depth: int) -> None:
    for node, ancestors in _walk(stmt):
        line_here = _node_line(sql, node, line)
        checker = _CHECKERS.get(type(node))
        if checker is not None:
            checker(state, node, ancestors, line_here, sql, depth)
        if isinstance(node, _DDL_NODES) and state.ddl_line is None and not _is_safe_ddl(node):
            state.ddl_line = line_here


def _is_safe_ddl(node: ast.Node) -> bool:
    # CONCURRENTLY forms take only weak locks; lock_timeout matters less for them.
    return bool(getattr(node, "concurrent", False))


_NEWLINE = re.compile("\n")


class _Lines:
    """Offset -> 1-based line, by binary search over newline offsets (scripts may hold 30k statements)."""

    def __init__(self, text: str, first_line: int = 1) -> None:
        self.newlines = [match.start() for match in _NEWLINE.finditer(text)]
        self.first_line = first_line

    def at(self, location: int | None) -> int:
        if location is None or location < 0:
            return self.first_line
        return self.first_line + bisect.bisect_left(self.newlines, location)


def _node_line(lines: _Lines, node: ast.Node, fallback: int) -> int:
    location = getattr(node, "location", None)
    if isinstance(location, int) and location >= 0:
        return lines.at(location)
    return fallback


def _parse(text: str) -> list[ast.RawStmt]:
    """pglast.parse_sql, after checking nesting depth on the JSON form.

    pglast turns the parse tree into Python objects recursively in C; a few thousand nested set
    operations overflow the C stack and kill the process. json.loads of the same tree honours Python's
    recursion limit and raises RecursionError instead, so it goes first.
    """
    tree = json.loads(pglast.parser.parse_sql_json(text))
    count = len(tree.get("stmts", ())) if isinstance(tree, dict) else 0
    if count > MAX_STATEMENTS:
        raise TooManyStatements(count)
    return list(pglast.parse_sql(text))


class TooManyStatements(Exception):
    """More statements than a reviewable remediation holds; refused before the costly object tree is built."""


# --- small AST helpers -------------------------------------------------------------------------------------------


def _name(nodes: Any) -> str:
    """Dotted name from a tuple of String nodes (``funcname``, ``objects`` entries)."""
    if isinstance(nodes, ast.String):
        return str(nodes.sval)
    if isinstance(nodes, tuple | list):
        return ".".join(_name(n) for n in nodes if isinstance(n, ast.String | tuple | list))
    if isinstance(nodes, ast.RangeVar):
        return _relname(nodes)
    if isinstance(nodes, ast.TypeName):
        return _name(nodes.names)
    return ""


def _relname(rel: ast.RangeVar | None) -> str:
    if rel is None:
        return "?"
    return f"{rel.schemaname}.{rel.relname}" if rel.schemaname else str(rel.relname)


def _func_name(call: ast.FuncCall) -> str:
    names = [n.sval for n in call.funcname or () if isinstance(n, ast.String)]
    return str(names[-1]).lower() if names else ""


def _const_value(node: Any) -> Any:
    """The Python value of a literal expression, or ``_UNKNOWN``."""
    if isinstance(node, ast.TypeCast):
        inner = _const_value(node.arg)
        typename = _name(node.typeName).split(".")[-1].lower()
        if typename in {"bool", "boolean"} and isinstance(inner, str):
            return inner.strip().lower() in {"t", "true", "yes", "on", "1", "y"}
        return inner
    if isinstance(node, ast.A_Const):
        if node.isnull:
            return None
        val = node.val
        if isinstance(val, ast.Integer):
            return val.ival
        if isinstance(val, ast.Float):
            return float(val.fval or 0)
        if isinstance(val, ast.String):
            return val.sval
        if isinstance(val, ast.Boolean):
            return bool(val.boolval)
    return _UNKNOWN


_UNKNOWN = object()


def _same_expr(left: Any, right: Any) -> bool:
    if isinstance(left, ast.ColumnRef) and isinstance(right, ast.ColumnRef):
        return _colref_name(left) == _colref_name(right) and _colref_name(left) != ""
    lv, rv = _const_value(left), _const_value(right)
    return lv is not _UNKNOWN and rv is not _UNKNOWN and lv == rv and lv is not None


def _colref_name(ref: ast.ColumnRef) -> str:
    return ".".join(str(f.sval) for f in ref.fields or () if isinstance(f, ast.String))


def _is_always_true(expr: Any, depth: int = 0) -> bool:
    """True when a WHERE clause selects every row whatever the data (tautology)."""
    if depth > 50 or expr is None:
        return False
    value = _const_value(expr)
    if value is not _UNKNOWN:
        return value is True or (isinstance(value, int | float) and not isinstance(value, bool) and value != 0)
    if isinstance(expr, ast.BoolExpr):
        args = expr.args or ()
        if expr.boolop == enums.BoolExprType.OR_EXPR:
            return any(_is_always_true(a, depth + 1) for a in args)
        if expr.boolop == enums.BoolExprType.AND_EXPR:
            return bool(args) and all(_is_always_true(a, depth + 1) for a in args)
        if expr.boolop == enums.BoolExprType.NOT_EXPR:
            return bool(args) and _is_always_false(args[0], depth + 1)
    if isinstance(expr, ast.A_Expr) and expr.kind == enums.A_Expr_Kind.AEXPR_OP:
        op = _name(expr.name)
        if op in {"=", ">=", "<="} and _same_expr(expr.lexpr, expr.rexpr):
            return True
        return _compare_constants(op, expr.lexpr, expr.rexpr) is True
    if isinstance(expr, ast.NullTest) and expr.nulltesttype == enums.NullTestType.IS_NOT_NULL:
        return _const_value(expr.arg) not in (_UNKNOWN, None)
    if isinstance(expr, ast.SubLink) and expr.subLinkType == enums.SubLinkType.EXISTS_SUBLINK:
        # EXISTS (SELECT ... ) without WHERE/LIMIT/HAVING does not depend on the row: true for every row.
        sub = expr.subselect
        return (
            isinstance(sub, ast.SelectStmt)
            and sub.whereClause is None
            and sub.havingClause is None
            and sub.limitCount is None
            and sub.op == enums.SetOperation.SETOP_NONE
        )
    return False


def _selects_whole_table(where: Any, table: ast.RangeVar | None) -> bool:
    """``id IN (SELECT id FROM <same table>)`` with no filter or limit: every row again."""
    if table is None or not isinstance(where, ast.SubLink) or where.subLinkType != enums.SubLinkType.ANY_SUBLINK:
        return False
    sub = where.subselect
    if not isinstance(sub, ast.SelectStmt) or sub.whereClause is not None or sub.limitCount is not None:
        return False
    sources = [f for f in sub.fromClause or () if isinstance(f, ast.RangeVar)]
    return len(sources) == 1 and len(sub.fromClause or ()) == 1 and sources[0].relname == table.relname


def _is_always_false(expr: Any, depth: int) -> bool:
    value = _const_value(expr)
    if value is not _UNKNOWN:
        return value is False or value == 0
    if isinstance(expr, ast.A_Expr) and expr.kind == enums.A_Expr_Kind.AEXPR_OP:
        op = _name(expr.name)
        if op in {"<>", "!=", "<", ">"} and _same_expr(expr.lexpr, expr.rexpr):
            return True
        return _compare_constants(op, expr.lexpr, expr.rexpr) is False
    if isinstance(expr, ast.BoolExpr) and expr.boolop == enums.BoolExprType.AND_EXPR:
        return any(_is_always_false(a, depth + 1) for a in expr.args or ())
    return False


def _compare_constants(op: str, left: Any, right: Any) -> bool | None:
    lv, rv = _const_value(left), _const_value(right)
    if lv is _UNKNOWN or rv is _UNKNOWN or lv is None or rv is None or type(lv) is not type(rv):
        return None
    try:
        return {
            "=": lv == rv,
            "<>": lv != rv,
            "!=": lv != rv,
            "<": lv < rv,
            ">": lv > rv,
            "<=": lv <= rv,
            ">=": lv >= rv,
        }.get(op)
    except TypeError:
        return None


# --- rules -------------------------------------------------------------------------------------------------------

Ancestors = tuple[ast.Node, ...]


def _check_drop(state: _State, node: ast.DropStmt, _: Ancestors, line: int, sql: str, depth: int) -> None:
    names = ", ".join(_name(obj) for obj in node.objects or ()) or "?"
    cascade = node.behavior == enums.DropBehavior.DROP_CASCADE
    kind = node.removeType
    if kind in _DROP_CRITICAL:
        what = _DROP_CRITICAL[kind]
        state.add(
            f"sql.drop_{what.replace(' ', '_')}",
            Severity.CRITICAL,
            line,
            f"DROP {what.upper()} {names}{' CASCADE' if cascade else ''} destroys data irreversibly.",
            "Rename or revoke access first and drop in a later, reviewed migration after a backup.",
        )
    elif kind == enums.ObjectType.OBJECT_INDEX:
        if node.concurrent:
            state.side_effects.append(f"drops index {names} (CONCURRENTLY)")
        else:
            state.add(
                "sql.drop_index_blocking",
                Severity.MEDIUM,
                line,
                f"DROP INDEX {names} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on its table.",
                "Use DROP INDEX CONCURRENTLY IF EXISTS.",
            )
    elif kind in {enums.ObjectType.OBJECT_EXTENSION, enums.ObjectType.OBJECT_TYPE} and cascade:
        state.add(
            "sql.drop_cascade",
            Severity.CRITICAL,
            line,
            f"DROP ... {names} CASCADE also drops every dependent object, including columns and tables.",
            "Drop without CASCADE and handle dependents explicitly.",
        )
    else:
        state.add(
            "sql.drop_object",
            Severity.HIGH if not cascade else Severity.CRITICAL,
            line,
            f"DROP {kind.name.removeprefix('OBJECT_') if kind else '?'} {names}{' CASCADE' if cascade else ''} removes a database object.",
            "A remediation should not drop objects; if needed, ship it as a reviewed migration.",
        )


def _check_drop_role(state: _State, node: ast.DropRoleStmt, _: Ancestors, line: int, *__: Any) -> None:
    state.add(
        "sql.drop_role",
        Severity.CRITICAL,
        line,
        "DROP ROLE removes a login or group role; applications using it stop working.",
        "Use ALTER ROLE ... NOLOGIN to disable it reversibly.",
    )


def _check_drop_owned(state: _State, node: ast.DropOwnedStmt, _: Ancestors, line: int, *__: Any) -> None:
    state.add(
        "sql.drop_owned",
        Severity.CRITICAL,
        line,
        "DROP OWNED BY drops every object the role owns, in every schema of the database.",
        "Use REASSIGN OWNED and review what the role owns first.",
    )


def _check_reassign_owned(state: _State, node: ast.ReassignOwnedStmt, _: Ancestors, line: int, *__: Any) -> None:
    state.add(
        "sql.reassign_owned",
        Severity.HIGH,
        line,
        "REASSIGN OWNED moves ownership of every object of a role.",
        "Change ownership of the specific objects with ALTER ... OWNER TO.",
    )


def _check_truncate(state: _State, node: ast.TruncateStmt, _: Ancestors, line: int, *__: Any) -> None:
    names = ", ".join(_relname(r) for r in node.relations or ())
    if node.behavior == enums.DropBehavior.DROP_CASCADE:
        state.add(
            "sql.truncate_cascade",
            Severity.CRITICAL,
            line,
            f"TRUNCATE {names} CASCADE empties every table that references it by foreign key, too.",
            "Truncate only the named table, without CASCADE, after a backup.",
        )
    else:
        state.add(
            "sql.truncate",
            Severity.HIGH,
            line,
            f"TRUNCATE {names} removes every row, cannot be filtered and takes an ACCESS EXCLUSIVE lock.",
            "Delete with a selective WHERE in batches, or truncate only a staging table in a reviewed change.",
        )


def _check_delete(state: _State, node: ast.DeleteStmt, ancestors: Ancestors, line: int, *_: Any) -> None:
    _check_dml_where(
        state,
        "DELETE",
        "sql.delete_without_where",
        node.relation,
        node.whereClause,
        ancestors,
        line,
    )


def _check_update(state: _State, node: ast.UpdateStmt, ancestors: Ancestors, line: int, *_: Any) -> None:
    _check_dml_where(
        state,
        "UPDATE",
        "sql.update_without_where",
        node.relation,
        node.whereClause,
        ancestors,
        line,
    )


def _check_dml_where(
    state: _State,
    verb: str,
    rule_id: str,
    relation: ast.RangeVar | None,
    where: Any,
    ancestors: Ancestors,
    line: int,
) -> None:
    table = _relname(relation)
    hidden = " (inside a CTE or sub-statement)" if ancestors else ""
    if where is None:
        if relation is not None and relation.relname in state.created_tables:
            return
        state.add(
            rule_id,
            Severity.CRITICAL,
            line,
            f"{verb} on {table} has no WHERE clause{hidden}: it touches every row.",
            "Add a selective WHERE (and batch with a LIMIT sub-select for large tables).",
        )
    elif _is_always_true(where) or _selects_whole_table(where, relation):
        state.add(
            "sql.tautological_where",
            Severity.CRITICAL,
            line,
            f"{verb} on {table} has a WHERE clause that is always true{hidden}: it touches every row.",
            "Write a predicate that actually selects the rows to change.",
        )
    else:
        state.side_effects.append(f"{'deletes' if verb == 'DELETE' else 'updates'} selected rows of {table}")


def _check_alter_system(state: _State, node: ast.AlterSystemStmt, _: Ancestors, line: int, *__: Any) -> None:
    setting = node.setstmt
    name = (setting.name or "ALL") if setting is not None else "?"
    values = [_const_value(a) for a in (setting.args or ())] if setting is not None else []
    off = any(str(v).lower() in {"off", "false", "0", "no"} for v in values if v is not _UNKNOWN)
    critical = name.lower() in _CRITICAL_SYSTEM_SETTINGS or name == "ALL" or off
    state.add(
        "sql.alter_system",
        Severity.CRITICAL if critical else Severity.HIGH,
        line,
        f"ALTER SYSTEM changes server-wide setting {name} in postgresql.auto.conf"
        + (" (durability, security or program execution)" if critical else "")
        + ".",
        "Change server configuration through a reviewed config patch, not from SQL.",
    )


def _role_options(options: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for opt in options or ():
        if isinstance(opt, ast.DefElem):
            arg = opt.arg
            out[str(opt.defname)] = arg.boolval if isinstance(arg, ast.Boolean) else arg
    return out


def _check_role_options(state: _State, verb: str, options: Any, role: str, line: int) -> None:
    opts = _role_options(options)
    privileged = sorted(k for k in _PRIVILEGED_ROLE_OPTIONS if opts.get(k) is True)
    if privileged:
        state.add(
            "sql.role_privileged",
            Severity.CRITICAL,
            line,
            f"{verb} ROLE {role} grants {', '.join(p.upper() for p in privileged)}.",
            "Remediations never grant superuser-level attributes; use a scoped, non-superuser role.",
        )
    if "password" in opts:
        state.add(
            "sql.role_password_change",
            Severity.HIGH,
            line,
            f"{verb} ROLE {role} sets a password: logins change and the secret lands in logs.",
            "Rotate credentials through the secret manager, not inline SQL.",
        )


def _check_create_role(state: _State, node: ast.CreateRoleStmt, _: Ancestors, line: int, *__: Any) -> None:
    _check_role_options(state, "CREATE", node.options, str(node.role), line)
    state.side_effects.append(f"creates role {node.role}")


def _check_alter_role(state: _State, node: ast.AlterRoleStmt, _: Ancestors, line: int, *__: Any) -> None:
    role = node.role.rolename if node.role is not None and node.role.rolename else "?"
    _check_role_options(state, "ALTER", node.options, str(role), line)


def _grantee_is_public(grantees: Any) -> bool:
    return any(isinstance(g, ast.RoleSpec) and g.roletype == enums.RoleSpecType.ROLESPEC_PUBLIC for g in grantees or ())


def _check_grant(state: _State, node: ast.GrantStmt, _: Ancestors, line: int, *__: Any) -> None:
    if not node.is_grant:
        state.add(
            "sql.revoke",
            Severity.MEDIUM,
            line,
            "REVOKE removes privileges; the application may lose access it needs.",
            "Confirm which roles depend on the privilege before revoking.",
        )
        return
    if _grantee_is_public(node.grantees):
        state.add(
            "sql.grant_public",
            Severity.HIGH,
            line,
            "GRANT ... TO PUBLIC gives the privilege to every role, present and future.",
            "Grant to the specific application role.",
        )
    if node.privileges is None:
        state.add(
            "sql.grant_all",
            Severity.HIGH,
            line,
            "GRANT ALL gives every privilege, including TRUNCATE, REFERENCES and TRIGGER.",
            "Grant only the privileges needed (SELECT, INSERT, ...).",
        )
    elif node.targtype == enums.GrantTargetType.ACL_TARGET_ALL_IN_SCHEMA:
        state.add(
            "sql.grant_all_in_schema",
            Severity.MEDIUM,
            line,
            "GRANT ... ON ALL ... IN SCHEMA widens access to every object of a schema.",
            "Grant on the named objects.",
        )


def _check_grant_role(state: _State, node: ast.GrantRoleStmt, _: Ancestors, line: int, *__: Any) -> None:
    if not node.is_grant:
        return
    roles = {
        str(getattr(r, "priv_name", None) or getattr(r, "rolename", None) or "").lower()
        for r in node.granted_roles or ()
    }
    dangerous = sorted(r for r in roles if r in _SERVER_ROLES)
    state.add(
        "sql.grant_role",
        Severity.CRITICAL if dangerous else Severity.MEDIUM,
        line,
        f"GRANT role membership{(' in ' + ', '.join(dangerous)) if dangerous else ''}: the grantee inherits its powers.",
        "Membership in pg_* server roles gives file or program access on the database host; avoid it.",
    )


def _check_default_privileges(state: _State, node: ast.Node, _: Ancestors, line: int, *__: Any) -> None:
    state.add(
        "sql.alter_default_privileges",
        Severity.HIGH,
        line,
        "ALTER DEFAULT PRIVILEGES changes the privileges of every object created in the future.",
        "Grant on existing objects explicitly; change defaults in a reviewed migration.",
    )


def _check_copy(state: _State, node: ast.CopyStmt, _: Ancestors, line: int, *__: Any) -> None:
    if node.is_program:
        state.add(
            "sql.copy_program",
            Severity.CRITICAL,
            line,
            f"COPY ... PROGRAM runs the shell command {node.filename!r} as the postgres OS user.",
            "Never run programs from SQL; use COPY ... TO STDOUT from a client.",
        )
    elif node.filename:
        state.add(
            "sql.copy_server_file",
            Severity.HIGH,
            line,
            f"COPY {'FROM' if node.is_from else 'TO'} server file {node.filename!r} reads or writes the database "
            "host's filesystem.",
            "Use COPY ... FROM STDIN / TO STDOUT (psql \\copy) from the client side.",
        )


def _check_func_call(state: _State, node: ast.FuncCall, ancestors: Ancestors, line: int, *__: Any) -> None:
    name = _func_name(node)
    if name in _SERVER_FILE_FUNCTIONS:
        state.add(
            "sql.server_file_access",
            Severity.CRITICAL if name in _WRITING_FILE_FUNCTIONS else Severity.HIGH,
            line,
            f"{name}() reads or writes files on the database server.",
            "Remediations must not touch the server filesystem from SQL.",
        )
    elif name in _DBLINK_FUNCTIONS:
        state.add(
            "sql.dblink",
            Severity.HIGH,
            line,
            f"{name}() runs SQL on another server, outside this validation's reach.",
            "Run the remediation against each database directly.",
        )
    elif name in _BACKEND_SIGNAL_FUNCTIONS:
        _check_backend_signal(state, node, name, ancestors, line)
    elif name == "pg_drop_replication_slot":
        _check_drop_slot(state, node, ancestors, line)
    elif name == "set_config" and node.args:
        setting = _const_value(node.args[0])
        if isinstance(setting, str):
            _check_setting(state, setting, node.args[1:2], line)
    elif name in {"pg_promote"}:
        state.add(
            "sql.promote",
            Severity.HIGH,
            line,
            "pg_promote() turns a standby into a primary (failover).",
            "Failover is a runbook decision, not an automated remediation.",
        )
    elif name in {"pg_reload_conf", "pg_rotate_logfile", "pg_switch_wal"}:
        state.side_effects.append(f"calls {name}()")


def _check_backend_signal(state: _State, node: ast.FuncCall, name: str, ancestors: Ancestors, line: int) -> None:
    verb = "terminates" if name == "pg_terminate_backend" else "cancels queries of"
    args = node.args or ()
    if args and isinstance(_const_value(args[0]), int):
        state.side_effects.append(f"{verb} backend pid {_const_value(args[0])}")
        return
    select = next((a for a in reversed(ancestors) if isinstance(a, ast.SelectStmt)), None)
    where = select.whereClause if select is not None else None
    restricted, excludes_self = _session_filter(where)
    if where is None or not restricted or _is_always_true(where):
        state.add(
            "sql.terminate_backends_unfiltered",
            Severity.CRITICAL,
            line,
            f"{name}() over sessions without a precise filter hits every backend, replication and admin ones too.",
            "Filter on state, age (state_change / xact_start), application_name or usename, and add "
            "pid <> pg_backend_pid().",
        )
    elif not excludes_self:
        state.add(
            "sql.terminate_backends_unfiltered",
            Severity.HIGH,
            line,
            f"{name}() loop does not exclude its own session (pid <> pg_backend_pid()).",
            "Add AND pid <> pg_backend_pid() to the WHERE clause.",
        )
    else:
        states = sorted(
            str(value)
            for sub, _ in _walk(where)
            if isinstance(sub, ast.A_Const)
            and isinstance(value := _const_value(sub), str)
            and value.startswith(("idle", "active"))
        )
        which = f"{' / '.join(states)} sessions" if states else "sessions"
        state.side_effects.append(f"{verb} {which} selected on pg_stat_activity (filtered, own session excluded)")


def _session_filter(where: Any) -> tuple[bool, bool]:
    """(restricts by a session column other than the own-pid exclusion, excludes pg_backend_pid())."""
    if where is None:
        return False, False
    restricted = False
    excludes_self = False
    for node, _ in _walk(where):
        if isinstance(node, ast.A_Expr) and node.kind == enums.A_Expr_Kind.AEXPR_OP:
            op = _name(node.name)
            sides = (node.lexpr, node.rexpr)
            own_pid = any(isinstance(s, ast.FuncCall) and _func_name(s) == "pg_backend_pid" for s in sides)
            if own_pid and op in {"<>", "!="}:
                excludes_self = True
                continue
            if not own_pid and any(_references_session_column(s) for s in sides):
                restricted = True
        elif isinstance(node, ast.A_Expr | ast.NullTest | ast.SubLink) and _references_session_column(node):
            restricted = True
    return restricted, excludes_self


def _references_session_column(node: Any) -> bool:
    if node is None:
        return False
    for sub, _ in _walk(node) if isinstance(node, ast.Node) else ():
        if isinstance(sub, ast.ColumnRef):
            name = _colref_name(sub).split(".")[-1].lower()
            if name in _SESSION_FILTER_COLUMNS:
                return True
    return False


def _check_drop_slot(state: _State, node: ast.FuncCall, ancestors: Ancestors, line: int) -> None:
    args = node.args or ()
    slot = _const_value(args[0]) if args else _UNKNOWN
    if isinstance(slot, str):
        # Decision (docs/rules/sql.md): dropping one named slot is the standard cure for WAL piling up behind
        # an abandoned consumer; it is reported (LOW) and listed, not failed.
        state.add(
            "sql.drop_replication_slot",
            Severity.LOW,
            line,
            f"Drops replication slot {slot!r}: a consumer that still needs it must be re-initialised.",
            "Check pg_replication_slots.active = false for the slot first.",
        )
        state.side_effects.append(f"drops replication slot {slot}")
        return
    select = next((a for a in reversed(ancestors) if isinstance(a, ast.SelectStmt)), None)
    where = select.whereClause if select is not None else None
    state.add(
        "sql.drop_replication_slot",
        Severity.CRITICAL if where is None or _is_always_true(where) else Severity.HIGH,
        line,
        "pg_drop_replication_slot() over a query drops many slots: standbys and CDC consumers break.",
        "Drop one named, inactive slot.",
    )


def _check_setting(state: _State, name: str, args: Any, line: int) -> None:
    lowered = name.lower()
    values = [str(_const_value(a)).lower() for a in args or ()]
    if lowered == "session_replication_role" and "replica" in values:
        state.add(
            "sql.session_replication_role",
            Severity.HIGH,
            line,
            "session_replication_role = replica silently disables triggers and foreign-key checks.",
            "Keep triggers on; fix data with statements that respect constraints.",
        )
    elif lowered == "lock_timeout":
        state.lock_timeout_set = True
        state.side_effects.append(f"sets lock_timeout={values[0] if values else '?'} for the session")
    elif lowered in _DANGEROUS_SESSION_SETTINGS:
        state.add(
            "sql.dangerous_setting",
            Severity.HIGH,
            line,
            f"SET {name} bypasses a corruption or catalogue safety check.",
            "Leave this setting at its default.",
        )


def _check_variable_set(state: _State, node: ast.VariableSetStmt, _: Ancestors, line: int, *__: Any) -> None:
    if node.name:
        _check_setting(state, str(node.name), node.args, line)


def _check_create_extension(state: _State, node: ast.CreateExtensionStmt, _: Ancestors, line: int, *__: Any) -> None:
    name = str(node.extname).lower()
    if name in _DANGEROUS_EXTENSIONS:
        state.add(
            "sql.untrusted_extension",
            Severity.CRITICAL if name in _UNTRUSTED_LANGUAGES or name.endswith("u") else Severity.HIGH,
            line,
            f"CREATE EXTENSION {name} gives SQL access to the OS, server files or other servers.",
            "Do not install untrusted languages or file/remote-access extensions from a remediation.",
        )
    else:
        state.side_effects.append(f"creates extension {name}")


def _def_options(options: Any) -> dict[str, Any]:
    return {str(o.defname): o.arg for o in options or () if isinstance(o, ast.DefElem)}


def _check_create_function(
    state: _State,
    node: ast.CreateFunctionStmt,
    _: Ancestors,
    line: int,
    sql: str,
    depth: int,
) -> None:
    opts = _def_options(node.options)
    language = str(getattr(opts.get("language"), "sval", "sql")).lower()
    name = _name(node.funcname)
    if language in _UNTRUSTED_LANGUAGES:
        state.add(
            "sql.untrusted_function_language",
            Severity.CRITICAL,
            line,
            f"Function {name} is written in untrusted language {language}: it can run OS code as postgres.",
            "Use SQL or plpgsql.",
        )
        return
    body = opts.get("as")
    body_text = _name(body[0]) if isinstance(body, tuple) and body else ""
    if language == "plpgsql" and body_text:
        returns = "void"
        if node.returnType is not None and not node.returnType.setof:
            returns = _name(node.returnType) or "void"
        _check_plpgsql(state, body_text, "function", line, depth, returns)
    elif language == "sql" and body_text:
        _check_embedded_sql(state, body_text, line, depth)
    state.side_effects.append(f"creates function {name} ({language})")


def _check_do(state: _State, node: ast.DoStmt, _: Ancestors, line: int, sql: str, depth: int) -> None:
    opts = _def_options(node.args)
    language = str(getattr(opts.get("language"), "sval", "plpgsql")).lower()
    body = str(getattr(opts.get("as"), "sval", ""))
    if language in _UNTRUSTED_LANGUAGES:
        state.add(
            "sql.untrusted_function_language",
            Severity.CRITICAL,
            line,
            f"DO block in untrusted language {language} runs OS code as the postgres user.",
            "Use plain SQL.",
        )
    elif language == "plpgsql":
        _check_plpgsql(state, body, "DO block", line, depth)
    else:
        state.add(
            "sql.do_block_language",
            Severity.HIGH,
            line,
            f"DO block in language {language} cannot be checked.",
            "Use plain SQL or plpgsql.",
        )


def _check_plpgsql(state: _State, body: str, where: str, line: int, depth: int, returns: str = "void") -> None:
    if depth >= _MAX_EMBED_DEPTH:
        state.add(
            "sql.dynamic_execute",
            Severity.CRITICAL,
            line,
            f"{where} nests code too deeply to be checked.",
            "Flatten the code.",
        )
        return
    tag = "$plbody$"
    while tag in body:
        tag = tag[:-1] + "x$"
    tree: Any = None
    error: Exception | None = None
    # A function body is parsed with its own return type first (RETURN NEW needs "trigger", RETURN 1 a
    # scalar); DO blocks are void by definition.
    for return_type in dict.fromkeys((returns, "void", "trigger", "int")):
        wrapper = (
            f"CREATE FUNCTION pg_temp.remediation_check() RETURNS {return_type} LANGUAGE plpgsql AS {tag}{body}{tag}"
        )
        try:
            tree = pglast.parse_plpgsql(wrapper)
            break
        except (ParseError, ValueError) as failure:
            error = failure
    if tree is None:
        state.add(
            "syntax.sql" if where == "DO block" else "sql.unparsable_embedded",
            Severity.CRITICAL if where == "DO block" else Severity.HIGH,
            line,
            f"The {where} body does not parse as PL/pgSQL: {error}.",
            "Fix the PL/pgSQL syntax.",
        )
        return
    for kind, item in _plpgsql_items(tree):
        item_line = line + max(int(item.get("lineno", 1) or 1) - 1, 0)
        if kind in {
            "PLpgSQL_stmt_dynexecute",
            "PLpgSQL_stmt_dynfors",
            "PLpgSQL_stmt_return_query_dyn",
        }:
            query = _plpgsql_query(item.get("query") or item.get("dynquery"))
            literal = _sql_string_literal(query)
            if literal is not None:
                _check_embedded_sql(state, literal, item_line, depth)
            else:
                state.add(
                    "sql.dynamic_execute",
                    Severity.CRITICAL,
                    item_line,
                    f"EXECUTE of dynamic text in a {where} ({query.strip()[:80]!r}): the statement is only known "
                    "at run time.",
                    "Write the statements out; no EXECUTE of built strings in remediations.",
                )
        elif kind == "PLpgSQL_stmt_return_query" and item.get("dynquery"):
            state.add(
                "sql.dynamic_execute",
                Severity.CRITICAL,
                item_line,
                f"RETURN QUERY EXECUTE of dynamic text in a {where}.",
                "Write the query out.",
            )
        elif kind == "PLpgSQL_stmt_open" and item.get("dynquery"):
            state.add(
                "sql.dynamic_execute",
                Severity.CRITICAL,
                item_line,
                f"OPEN cursor FOR EXECUTE of dynamic text in a {where}.",
                "Write the query out.",
            )
        elif kind == "PLpgSQL_expr":
            _check_plpgsql_expr(state, item, item_line, depth)


def _plpgsql_items(tree: Any, lineno: int = 1) -> Iterator[tuple[str, dict[str, Any]]]:
    """(node type, node dict) for every PL/pgSQL node; expressions inherit the line of their statement."""
    stack: list[tuple[Any, int]] = [(tree, lineno)]
    while stack:
        value, line = stack.pop()
        if isinstance(value, list):
            stack.extend((v, line) for v in reversed(value))
        elif isinstance(value, dict):
            for key, inner in value.items():
                if isinstance(inner, dict) and key.startswith("PLpgSQL_"):
                    here = int(inner.get("lineno", line) or line)
                    if key == "PLpgSQL_expr":
                        yield key, {**inner, "lineno": line}
                    else:
                        yield key, inner
                    stack.extend((v, here) for v in inner.values() if isinstance(v, dict | list))
                elif isinstance(inner, dict | list):
                    stack.append((inner, line))


def _plpgsql_query(expr: Any) -> str:
    if isinstance(expr, dict):
        inner = expr.get("PLpgSQL_expr", expr)
        return str(inner.get("query", ""))
    return ""


def _sql_string_literal(text: str) -> str | None:
    stripped = text.strip()
    match = re.fullmatch(r"'((?:[^']|'')*)'", stripped, re.DOTALL)
    if match:
        return match.group(1).replace("''", "'")
    match = re.fullmatch(r"(\$[A-Za-z_0-9]*\$)(.*)\1", stripped, re.DOTALL)
    if match:
        return match.group(2)
    return None


def _check_plpgsql_expr(state: _State, item: dict[str, Any], line: int, depth: int) -> None:
    query = str(item.get("query", ""))
    mode = int(item.get("parseMode", 0) or 0)
    if mode == 3 and ":=" in query:  # assignment "x := expr"
        query = query.split(":=", 1)[1]
    text = query if mode == 0 else f"SELECT {query}"
    _check_embedded_sql(state, text, line, depth, quiet_parse_errors=True)


def _check_embedded_sql(state: _State, text: str, line: int, depth: int, *, quiet_parse_errors: bool = False) -> None:
    try:
        statements = _parse(text)
    except ParseError:
        if not quiet_parse_errors:
            state.add(
                "sql.unparsable_embedded",
                Severity.HIGH,
                line,
                "Embedded SQL text does not parse, so it cannot be checked.",
                "Write the embedded statement out as plain SQL.",
            )
        return
    for raw in statements:
        # Embedded statements report the line of the statement that holds them.
        if raw.stmt is not None:
            _check_statement(state, raw.stmt, _Lines(text, first_line=line), line, depth=depth + 1)


def _check_merge(state: _State, node: ast.MergeStmt, ancestors: Ancestors, line: int, *_: Any) -> None:
    """MERGE ... ON <always true> WHEN MATCHED THEN DELETE/UPDATE touches every row of the target."""
    table = _relname(node.relation)
    for clause in node.mergeWhenClauses or ():
        if not isinstance(clause, ast.MergeWhenClause):
            continue
        if clause.commandType not in {enums.CmdType.CMD_DELETE, enums.CmdType.CMD_UPDATE}:
            continue
        verb = "DELETE" if clause.commandType == enums.CmdType.CMD_DELETE else "UPDATE"
        if _is_always_true(node.joinCondition) and (clause.condition is None or _is_always_true(clause.condition)):
            state.add(
                "sql.tautological_where",
                Severity.CRITICAL,
                line,
                f"MERGE INTO {table} ON an always-true condition WHEN MATCHED THEN {verb}: it touches every row.",
                "Join on the key that selects the rows to change.",
            )
        else:
            state.side_effects.append(f"merges into {table} ({verb.lower()} of matched rows)")


def _check_alter_table(state: _State, node: ast.AlterTableStmt, _: Ancestors, line: int, *__: Any) -> None:
    table = _relname(node.relation)
    T = enums.AlterTableType
    for cmd in node.cmds or ():
        if not isinstance(cmd, ast.AlterTableCmd):
            continue
        sub = cmd.subtype
        if sub in {T.AT_DisableTrig, T.AT_DisableTrigAll, T.AT_DisableTrigUser}:
            state.add(
                "sql.disable_trigger",
                Severity.HIGH,
                line,
                f"ALTER TABLE {table} DISABLE TRIGGER switches off triggers (and with ALL, foreign-key checks).",
                "Keep triggers enabled; fix data with statements that respect them.",
            )
        elif sub == T.AT_DisableRowSecurity:
            state.add(
                "sql.disable_row_security",
                Severity.HIGH,
                line,
                f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY exposes every row to every reader.",
                "Leave row-level security enabled.",
            )
        elif sub == T.AT_AlterColumnType:
            state.add(
                "sql.alter_column_type",
                Severity.HIGH,
                line,
                f"ALTER TABLE {table} ALTER COLUMN {cmd.name} TYPE rewrites the table under an ACCESS EXCLUSIVE lock.",
                "Add a new column, backfill in batches, then swap.",
            )
        elif sub == T.AT_DropColumn:
            state.add(
                "sql.drop_column",
                Severity.HIGH,
                line,
                f"ALTER TABLE {table} DROP COLUMN {cmd.name} loses data and breaks clients that read it.",
                "Stop using the column first; drop it in a later reviewed migration.",
            )
        elif sub == T.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
            _check_add_column(state, table, cmd.def_, line)
        elif sub == T.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
            constraint = cmd.def_
            if constraint.contype in {
                enums.ConstrType.CONSTR_FOREIGN,
                enums.ConstrType.CONSTR_CHECK,
            }:
                if constraint.skip_validation:
                    state.side_effects.append(f"adds constraint on {table} (NOT VALID)")
                else:
                    state.add(
                        "sql.add_constraint_validating",
                        Severity.MEDIUM,
                        line,
                        f"ADD CONSTRAINT on {table} validates every row while holding a lock that blocks writes.",
                        "Add it NOT VALID, then VALIDATE CONSTRAINT in a separate statement.",
                    )
        elif sub == T.AT_ValidateConstraint:
            state.side_effects.append(f"validates constraint {cmd.name} on {table}")


def _check_add_column(state: _State, table: str, column: ast.ColumnDef, line: int) -> None:
    kinds = {c.contype for c in column.constraints or () if isinstance(c, ast.Constraint)}
    if enums.ConstrType.CONSTR_NOTNULL in kinds and enums.ConstrType.CONSTR_DEFAULT not in kinds:
        if table.split(".")[-1] in state.created_tables:
            return
        state.add(
            "sql.add_column_not_null_without_default",
            Severity.HIGH,
            line,
            f"ADD COLUMN {column.colname} NOT NULL without a DEFAULT fails on a non-empty {table} and locks it.",
            "Add the column NULL (or with a constant DEFAULT), backfill, then add a NOT VALID check.",
        )
    else:
        state.side_effects.append(f"adds column {column.colname} to {table}")


def _check_index(state: _State, node: ast.IndexStmt, _: Ancestors, line: int, *__: Any) -> None:
    table = _relname(node.relation)
    name = node.idxname or "(unnamed)"
    if node.concurrent:
        state.side_effects.append(f"creates index {name} on {table} (CONCURRENTLY)")
    elif node.relation is not None and node.relation.relname in state.created_tables:
        state.side_effects.append(f"creates index {name} on new table {table}")
    else:
        state.add(
            "sql.create_index_blocking",
            Severity.HIGH,
            line,
            f"CREATE INDEX {name} on {table} without CONCURRENTLY blocks writes for the whole build.",
            "Use CREATE INDEX CONCURRENTLY IF NOT EXISTS (outside a transaction block).",
        )


def _check_create_table(state: _State, node: ast.CreateStmt, _: Ancestors, line: int, *__: Any) -> None:
    if node.relation is not None:
        state.created_tables.add(str(node.relation.relname))
        state.side_effects.append(f"creates table {_relname(node.relation)}")


def _check_vacuum(state: _State, node: ast.VacuumStmt, _: Ancestors, line: int, *__: Any) -> None:
    options = {str(o.defname).lower() for o in node.options or () if isinstance(o, ast.DefElem)}
    tables = ", ".join(_relname(r.relation) for r in node.rels or () if isinstance(r, ast.VacuumRelation)) or "all"
    if node.is_vacuumcmd and "full" in options:
        state.add(
            "sql.vacuum_full",
            Severity.HIGH,
            line,
            f"VACUUM FULL {tables} rewrites tables under an ACCESS EXCLUSIVE lock.",
            "Use plain VACUUM (ANALYZE), or pg_repack for bloat.",
        )
    else:
        state.side_effects.append(f"{'vacuums' if node.is_vacuumcmd else 'analyzes'} {tables}")


def _check_cluster(state: _State, node: ast.ClusterStmt, _: Ancestors, line: int, *__: Any) -> None:
    state.add(
        "sql.cluster",
        Severity.HIGH,
        line,
        f"CLUSTER {_relname(node.relation)} rewrites the table under an ACCESS EXCLUSIVE lock.",
        "Use pg_repack, or schedule it in a maintenance window.",
    )


def _check_reindex(state: _State, node: ast.ReindexStmt, _: Ancestors, line: int, *__: Any) -> None:
    params = {str(p.defname).lower() for p in node.params or () if isinstance(p, ast.DefElem)}
    target = node.name or _relname(node.relation)
    kind = node.kind.name.removeprefix("REINDEX_OBJECT_") if node.kind is not None else "?"
    if "concurrently" in params:
        state.side_effects.append(f"rebuilds {kind.lower()} {target} (CONCURRENTLY)")
        return
    state.add(
        "sql.reindex_blocking",
        Severity.MEDIUM if kind == "INDEX" else Severity.HIGH,
        line,
        f"REINDEX {kind} {target} without CONCURRENTLY blocks writes (and reads using the index).",
        "Use REINDEX ... CONCURRENTLY.",
    )


def _check_lock(state: _State, node: ast.LockStmt, _: Ancestors, line: int, *__: Any) -> None:
    tables = ", ".join(_relname(r) for r in node.relations or ())
    mode = node.mode or 0
    if mode >= 8:
        state.add(
            "sql.lock_access_exclusive",
            Severity.HIGH,
            line,
            f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE blocks every reader and writer.",
            "Use a weaker lock mode, or none, and a lock_timeout.",
        )
    elif mode >= 6:
        state.add(
            "sql.lock_exclusive",
            Severity.MEDIUM,
            line,
            f"LOCK TABLE {tables} in a write-blocking mode.",
            "Use a weaker lock mode and a lock_timeout.",
        )


def _check_load(state: _State, node: ast.LoadStmt, _: Ancestors, line: int, *__: Any) -> None:
    state.add(
        "sql.load_library",
        Severity.CRITICAL,
        line,
        f"LOAD {node.filename!r} loads a shared library into the server process.",
        "Never load libraries from a remediation.",
    )


def _check_create_language(state: _State, node: ast.Node, _: Ancestors, line: int, *__: Any) -> None:
    state.add(
        "sql.untrusted_function_language",
        Severity.CRITICAL,
        line,
        "CREATE LANGUAGE installs a procedural language; untrusted ones run OS code.",
        "Do not install languages from a remediation.",
    )


def _check_foreign_server(state: _State, node: ast.Node, _: Ancestors, line: int, *__: Any) -> None:
    state.add(
        "sql.foreign_server",
        Severity.HIGH,
        line,
        f"{type(node).__name__} sets up access to another server or file through a foreign-data wrapper.",
        "Remediations must not create cross-server access.",
    )


def _check_rule_or_trigger(state: _State, node: ast.Node, _: Ancestors, line: int, *__: Any) -> None:
    what = "rule" if isinstance(node, ast.RuleStmt) else "trigger"
    state.add(
        f"sql.create_{what}",
        Severity.MEDIUM,
        line,
        f"CREATE {what.upper()} adds hidden behaviour that runs on later statements.",
        f"Ship new {what}s as reviewed migrations, not remediations.",
    )


_CHECKERS: dict[type, Any] = {
    ast.DropStmt: _check_drop,
    ast.DropdbStmt: lambda s, n, a, line, *r: s.add(
        "sql.drop_database",
        Severity.CRITICAL,
        line,
        f"DROP DATABASE {n.dbname} destroys a whole database.",
        "Never drop a database from a remediation.",
    ),
    ast.DropRoleStmt: _check_drop_role,
    ast.DropTableSpaceStmt: lambda s, n, a, line, *r: s.add(
        "sql.drop_tablespace",
        Severity.CRITICAL,
        line,
        f"DROP TABLESPACE {n.tablespacename} removes a storage location.",
        "Never drop tablespaces from a remediation.",
    ),
    ast.DropOwnedStmt: _check_drop_owned,
    ast.ReassignOwnedStmt: _check_reassign_owned,
    ast.TruncateStmt: _check_truncate,
    ast.DeleteStmt: _check_delete,
    ast.UpdateStmt: _check_update,
    ast.MergeStmt: _check_merge,
    ast.AlterSystemStmt: _check_alter_system,
    ast.CreateRoleStmt: _check_create_role,
    ast.AlterRoleStmt: _check_alter_role,
    ast.GrantStmt: _check_grant,
    ast.GrantRoleStmt: _check_grant_role,
    ast.AlterDefaultPrivilegesStmt: _check_default_privileges,
    ast.CopyStmt: _check_copy,
    ast.FuncCall: _check_func_call,
    ast.VariableSetStmt: _check_variable_set,
    ast.CreateExtensionStmt: _check_create_extension,
    ast.CreateFunctionStmt: _check_create_function,
    ast.DoStmt: _check_do,
    ast.AlterTableStmt: _check_alter_table,
    ast.IndexStmt: _check_index,
    ast.CreateStmt: _check_create_table,
    ast.VacuumStmt: _check_vacuum,
    ast.ClusterStmt: _check_cluster,
    ast.ReindexStmt: _check_reindex,
    ast.LockStmt: _check_lock,
    ast.LoadStmt: _check_load,
    ast.CreatePLangStmt: _check_create_language,
    ast.CreateForeignServerStmt: _check_foreign_server,
    ast.CreateUserMappingStmt: _check_foreign_server,
    ast.ImportForeignSchemaStmt: _check_foreign_server,
    ast.RuleStmt: _check_rule_or_trigger,
    ast.CreateTrigStmt: _check_rule_or_trigger,
}


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, int | None, str]] = set()
    out: list[Finding] = []
    for finding in findings:
        key = (finding.rule_id, finding.line, finding.message)
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return out


__all__ = ["validate", "validate_embedded", "versions"]
