"""Run a PostgreSQL script against the real database: a rolled-back rehearsal, then the real run.

The script is split into statements with pglast (PostgreSQL's own parser), so each statement runs on its
own and reports its row count as it finishes. statement_timeout and lock_timeout are set on the session
before the first statement, so a runaway query or a lock queue cannot hold the run (or the table) for long.

Rehearsal: every statement runs inside one transaction that is rolled back at the end. Statements that
PostgreSQL refuses inside a transaction block (CREATE/DROP/REINDEX ... CONCURRENTLY, VACUUM, CREATE
DATABASE, ALTER SYSTEM, ...) are not executed; they are reported as skipped, and where it is cheap their
target is checked (the table of a CREATE INDEX exists and the index name is free, the index of a DROP
INDEX exists, the tables of a VACUUM exist), against the state the rehearsal has built so far.

Real run: consecutive ordinary statements share one transaction, committed when the group succeeds and
rolled back on its first error; a statement that cannot run in a transaction runs on its own in
autocommit, between groups. The run stops at the first error. Groups committed before the failing one
stay committed, and the summary says which statements those were.

Snapshot: the real run records the indexes that its CREATE INDEX statements created (found by listing the
table's indexes before and after, so unnamed indexes and the INVALID index a failed CREATE INDEX
CONCURRENTLY leaves behind are caught); :func:`restore_sql_snapshot` drops them with DROP INDEX
CONCURRENTLY IF EXISTS. Any other change is undone by the script's own rollback SQL, run with
:func:`run_sql`; the snapshot is None when no index was created.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pglast
import psycopg
from pglast import ast
from pglast.enums.parsenodes import ReindexObjectType, TransactionStmtKind
from psycopg import sql as pgsql

from sandbox.targets.types import OutputCallback, OutputLog, TargetResult, TargetUnavailable

APPLICATION_NAME = "generative-remediation"
CONNECT_TIMEOUT_SECONDS = 10
#: Rows of a SELECT printed to the output; the rest are counted, not shown.
MAX_ROWS_SHOWN = 20
_PREVIEW_CHARS = 120

SKIPPED_IN_REHEARSAL = "skipped in rehearsal (cannot run inside a transaction)"
_IN_ERROR = psycopg.pq.TransactionStatus.INERROR


@dataclass(frozen=True)
class _Statement:
    number: int  # 1-based position in the script
    text: str
    node: ast.Node
    #: PostgreSQL refuses it inside a transaction block.
    needs_autocommit: bool

    @property
    def preview(self) -> str:
        flat = " ".join(self.text.split())
        return flat if len(flat) <= _PREVIEW_CHARS else flat[: _PREVIEW_CHARS - 3] + "..."


@dataclass(frozen=True)
class _Relation:
    schema: str | None
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


class _ScriptRefused(Exception):
    """The script cannot be run as written (does not parse, manages its own transactions)."""


# --------------------------------------------------------------------------- parsing


def _needs_autocommit(node: ast.Node) -> bool:
    if isinstance(node, ast.IndexStmt):
        return bool(node.concurrent)
    if isinstance(node, ast.DropStmt):
        return bool(node.concurrent)
    if isinstance(node, ast.ReindexStmt):
        concurrently = any(getattr(param, "defname", None) == "concurrently" for param in node.params or ())
        whole = node.kind in (ReindexObjectType.REINDEX_OBJECT_SYSTEM, ReindexObjectType.REINDEX_OBJECT_DATABASE)
        return concurrently or whole
    if isinstance(node, ast.VacuumStmt):
        return bool(node.is_vacuumcmd)  # ANALYZE alone is allowed in a transaction, VACUUM is not
    if isinstance(node, ast.ClusterStmt):
        return node.relation is None  # CLUSTER of the whole database
    return isinstance(
        node,
        (
            ast.CreatedbStmt,
            ast.DropdbStmt,
            ast.AlterSystemStmt,
            ast.CreateTableSpaceStmt,
            ast.DropTableSpaceStmt,
        ),
    )


_SCRIPT_BEGIN = {TransactionStmtKind.TRANS_STMT_BEGIN, TransactionStmtKind.TRANS_STMT_START}
_SCRIPT_COMMIT = {TransactionStmtKind.TRANS_STMT_COMMIT}
_SAVEPOINTS = {
    TransactionStmtKind.TRANS_STMT_SAVEPOINT,
    TransactionStmtKind.TRANS_STMT_RELEASE,
    TransactionStmtKind.TRANS_STMT_ROLLBACK_TO,
}


def _only_node(text: str) -> ast.Node:
    [raw] = pglast.parse_sql(text)
    if raw.stmt is None:
        raise _ScriptRefused(f"cannot parse statement: {text[:60]}")
    return raw.stmt


def _split(script: str) -> list[_Statement]:
    """Statements of ``script`` in order. A plain BEGIN ... COMMIT around the whole script is dropped (the
    runner provides the transaction); any other transaction control is refused, since a COMMIT inside
    the script would make the rehearsal's changes permanent."""
    try:
        texts = [text for text in pglast.split(script) if text.strip()]
        nodes = [_only_node(text) for text in texts]
    except pglast.parser.ParseError as error:
        raise _ScriptRefused(f"the SQL does not parse: {error}") from error
    if not nodes:
        raise _ScriptRefused("the script holds no SQL statement")
    wrapped = (
        len(nodes) >= 2
        and isinstance(nodes[0], ast.TransactionStmt)
        and nodes[0].kind in _SCRIPT_BEGIN
        and not nodes[0].options
        and isinstance(nodes[-1], ast.TransactionStmt)
        and nodes[-1].kind in _SCRIPT_COMMIT
    )
    if wrapped:
        texts, nodes = texts[1:-1], nodes[1:-1]
    statements = []
    for index, (text, node) in enumerate(zip(texts, nodes, strict=True), start=1):
        if isinstance(node, ast.TransactionStmt) and node.kind not in _SAVEPOINTS:
            raise _ScriptRefused(
                f"statement {index} ({' '.join(text.split())[:60]}) controls the transaction; the runner "
                "runs the script in its own transaction (a plain BEGIN ... COMMIT around the whole script "
                "is accepted)"
            )
        statement = _Statement(index, text.strip(), node, _needs_autocommit(node))
        if wrapped and statement.needs_autocommit:
            raise _ScriptRefused(
                f"statement {index} cannot run inside a transaction block, but the script wraps it in "
                f"BEGIN ... COMMIT: {statement.preview}"
            )
        statements.append(statement)
    return statements


def _range_var(node: Any) -> _Relation:
    return _Relation(node.schemaname or None, node.relname)


def _qualified_name(names: Sequence[Any]) -> _Relation:
    parts = [getattr(part, "sval", "") for part in names]
    return _Relation(parts[-2] if len(parts) >= 2 else None, parts[-1])


# --------------------------------------------------------------------------- catalog look-ups


def _regclass(cursor: psycopg.Cursor[Any], relation: _Relation) -> int | None:
    row = cursor.execute(
        "SELECT to_regclass(CASE WHEN %(schema)s::text IS NULL THEN quote_ident(%(name)s) "
        "ELSE quote_ident(%(schema)s) || '.' || quote_ident(%(name)s) END)::oid",
        {"schema": relation.schema, "name": relation.name},
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def _indexes_of(cursor: psycopg.Cursor[Any], table: _Relation) -> set[tuple[str, str]]:
    oid = _regclass(cursor, table)
    if oid is None:
        return set()
    rows = cursor.execute(
        "SELECT n.nspname, c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE i.indrelid = %s",
        (oid,),
    ).fetchall()
    return {(str(schema), str(name)) for schema, name in rows}


def _schema_of(cursor: psycopg.Cursor[Any], oid: int) -> str:
    row = cursor.execute("SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = %s", (oid,)).fetchone()
    return str(row[0]) if row else "public"


def _rehearsal_target_problem(cursor: psycopg.Cursor[Any], statement: _Statement) -> str | None:
    """Why the skipped statement would fail in the real run, as far as cheap catalog look-ups tell."""
    node = statement.node
    if isinstance(node, ast.IndexStmt):
        table = _range_var(node.relation)
        table_oid = _regclass(cursor, table)
        if table_oid is None:
            return f"table {table} does not exist"
        if node.idxname and not node.if_not_exists:
            index = _Relation(table.schema or _schema_of(cursor, table_oid), node.idxname)
            if _regclass(cursor, index) is not None:
                return f"relation {index} already exists"
        return None
    if isinstance(node, ast.DropStmt) and not node.missing_ok:
        for names in node.objects or ():
            relation = _qualified_name(names)
            if _regclass(cursor, relation) is None:
                return f"index {relation} does not exist"
        return None
    if isinstance(node, ast.ReindexStmt) and node.relation is not None:
        relation = _range_var(node.relation)
        return None if _regclass(cursor, relation) is not None else f"relation {relation} does not exist"
    if isinstance(node, ast.VacuumStmt):
        for vacuum_relation in node.rels or ():
            relation = _range_var(vacuum_relation.relation)
            if _regclass(cursor, relation) is None:
                return f"relation {relation} does not exist"
    return None


# --------------------------------------------------------------------------- running


def _connect(dsn: str, log: OutputLog) -> psycopg.Connection[Any]:
    if not dsn or not dsn.strip():
        raise TargetUnavailable("no database connection string (DSN) is configured for this target")
    try:
        connection = psycopg.connect(
            dsn,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            application_name=APPLICATION_NAME,
        )
    except psycopg.Error as error:
        # libpq echoes parts of a malformed connection string in its message, and the string may hold a
        # password: report the kind of failure only, never the text.
        raise TargetUnavailable(
            f"cannot connect to the database ({type(error).__name__}); check the target's connection settings"
        ) from error

    def forward_notice(diagnostic: psycopg.errors.Diagnostic) -> None:
        log.emit(f"{diagnostic.severity or 'NOTICE'}: {diagnostic.message_primary or ''}")

    connection.add_notice_handler(forward_notice)
    return connection


def _set_timeouts(cursor: psycopg.Cursor[Any], statement_timeout_ms: int, lock_timeout_ms: int, log: OutputLog) -> None:
    # set_config at session level (is_local = false) so the limits hold in every transaction of the run.
    cursor.execute("SELECT set_config('statement_timeout', %s, false)", (f"{statement_timeout_ms}ms",))
    cursor.execute("SELECT set_config('lock_timeout', %s, false)", (f"{lock_timeout_ms}ms",))
    log.emit(f"SET statement_timeout = {statement_timeout_ms}ms; SET lock_timeout = {lock_timeout_ms}ms")


def _execute(cursor: psycopg.Cursor[Any], statement: _Statement, total: int, log: OutputLog) -> int:
    """Run one statement, report its status and row count; returns the row count (-1 when none)."""
    cursor.execute(statement.text)
    status = cursor.statusmessage or "OK"
    count = cursor.rowcount if cursor.rowcount is not None else -1
    rows = f" ({count} row{'s' if count != 1 else ''})" if count >= 0 else ""
    log.emit(f"[{statement.number}/{total}] {status}{rows}: {statement.preview}")
    if cursor.description is not None:
        names = [column.name for column in cursor.description]
        log.emit("    " + " | ".join(names))
        for row in cursor.fetchmany(MAX_ROWS_SHOWN):
            log.emit("    " + " | ".join("NULL" if value is None else str(value) for value in row))
        if count > MAX_ROWS_SHOWN:
            log.emit(f"    ... {count - MAX_ROWS_SHOWN} more row(s) not shown")
    return count


def _describe_error(error: psycopg.Error, statement_timeout_ms: int, lock_timeout_ms: int) -> str:
    diagnostic = error.diag
    message = (diagnostic.message_primary or str(error)).strip()
    if isinstance(error, psycopg.errors.QueryCanceled) and "statement timeout" in message:
        message += f" (statement_timeout = {statement_timeout_ms} ms)"
    elif isinstance(error, psycopg.errors.LockNotAvailable):
        message += f" (lock_timeout = {lock_timeout_ms} ms: another session holds a conflicting lock)"
    if diagnostic.sqlstate:
        message += f" [SQLSTATE {diagnostic.sqlstate}]"
    if diagnostic.message_detail:
        message += f"; detail: {diagnostic.message_detail.strip()}"
    return message


def _check_timeouts(statement_timeout_ms: int, lock_timeout_ms: int) -> None:
    # 0 would mean "no limit" to PostgreSQL; a runner without limits is not what anyone asked for.
    for name, value in (("statement_timeout_ms", statement_timeout_ms), ("lock_timeout_ms", lock_timeout_ms)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive number of milliseconds, got {value!r}")


def run_sql(
    sql: str,
    *,
    dsn: str,
    rehearsal: bool,
    statement_timeout_ms: int = 60000,
    lock_timeout_ms: int = 5000,
    on_output: OutputCallback | None = None,
) -> TargetResult:
    """Rehearse (``rehearsal=True``: everything rolled back) or run ``sql`` against the database at ``dsn``.

    Raises TargetUnavailable when no DSN is given or the database does not accept the connection; every
    other outcome, including a script that does not parse, is a TargetResult.
    """
    _check_timeouts(statement_timeout_ms, lock_timeout_ms)
    log = OutputLog(on_output)
    try:
        statements = _split(sql)
    except _ScriptRefused as error:
        log.error(str(error))
        return log.result(ok=False, summary=f"Refused: {error}.")
    row_counts = [-1] * len(statements)
    connection = _connect(dsn, log)
    try:
        with connection.cursor() as cursor:
            _set_timeouts(cursor, statement_timeout_ms, lock_timeout_ms, log)
        if rehearsal:
            return _rehearse(connection, statements, row_counts, statement_timeout_ms, lock_timeout_ms, log)
        return _run(connection, statements, row_counts, statement_timeout_ms, lock_timeout_ms, log)
    finally:
        connection.close()


def _rehearse(
    connection: psycopg.Connection[Any],
    statements: list[_Statement],
    row_counts: list[int],
    statement_timeout_ms: int,
    lock_timeout_ms: int,
    log: OutputLog,
) -> TargetResult:
    total = len(statements)
    skipped = 0
    failure: str | None = None
    log.emit("BEGIN (rehearsal: everything is rolled back at the end)")
    with connection.transaction(force_rollback=True), connection.cursor() as cursor:
        for statement in statements:
            if statement.needs_autocommit:
                skipped += 1
                log.emit(f"[{statement.number}/{total}] {SKIPPED_IN_REHEARSAL}: {statement.preview}")
                try:
                    problem = _rehearsal_target_problem(cursor, statement)
                except psycopg.Error as error:
                    problem = _describe_error(error, statement_timeout_ms, lock_timeout_ms)
                if problem is not None:
                    failure = f"statement {statement.number} would fail: {problem}"
                    log.error(f"[{statement.number}/{total}] would fail in the real run: {problem}")
                    break
                continue
            try:
                row_counts[statement.number - 1] = _execute(cursor, statement, total, log)
            except psycopg.Error as error:
                failure = f"statement {statement.number} failed: {_describe_error(error, statement_timeout_ms, lock_timeout_ms)}"
                log.error(f"[{statement.number}/{total}] ERROR: {failure}")
                break
    log.emit("ROLLBACK (rehearsal)")
    if failure is not None:
        return log.result(
            ok=False, summary=f"Rehearsal failed, {failure}; everything was rolled back.", row_counts=row_counts
        )
    ran = total - skipped
    summary = f"Rehearsal passed: {ran} statement(s) ran and were rolled back"
    if skipped:
        summary += f", {skipped} skipped (cannot run inside a transaction)"
    return log.result(ok=True, summary=summary + ".", row_counts=row_counts)


def _groups(statements: list[_Statement]) -> list[list[_Statement]]:
    """Consecutive ordinary statements share a transaction; each autocommit statement stands alone."""
    groups: list[list[_Statement]] = []
    for statement in statements:
        if statement.needs_autocommit or not groups or groups[-1][0].needs_autocommit:
            groups.append([statement])
        else:
            groups[-1].append(statement)
    return groups


def _run(
    connection: psycopg.Connection[Any],
    statements: list[_Statement],
    row_counts: list[int],
    statement_timeout_ms: int,
    lock_timeout_ms: int,
    log: OutputLog,
) -> TargetResult:
    total = len(statements)
    created_indexes: list[dict[str, str]] = []
    committed: list[int] = []
    for group in _groups(statements):
        group_indexes: list[dict[str, str]] = []
        current = group[0]
        try:
            with connection.cursor() as cursor:
                if current.needs_autocommit:
                    log.emit(f"(autocommit) {current.preview}")
                    try:
                        row_counts[current.number - 1] = _run_creating_indexes(
                            cursor, current, total, log, group_indexes
                        )
                    finally:
                        # A failed CREATE INDEX CONCURRENTLY leaves an INVALID index behind: record it too.
                        created_indexes.extend(group_indexes)
                else:
                    log.emit("BEGIN")
                    with connection.transaction():
                        for current in group:
                            row_counts[current.number - 1] = _run_creating_indexes(
                                cursor, current, total, log, group_indexes
                            )
                    log.emit("COMMIT")
                    created_indexes.extend(group_indexes)
        except psycopg.Error as error:
            reason = _describe_error(error, statement_timeout_ms, lock_timeout_ms)
            log.error(f"[{current.number}/{total}] ERROR: {reason}")
            if not current.needs_autocommit:
                log.emit("ROLLBACK")
            summary = f"Statement {current.number} failed: {reason}. "
            if current.needs_autocommit:
                summary += "It ran outside a transaction. "
            else:
                summary += f"Statements {group[0].number}-{group[-1].number} were rolled back. "
            summary += (
                f"Statements {_ranges(committed)} had been committed before it."
                if committed
                else "Nothing had been committed before it."
            )
            return log.result(ok=False, summary=summary, snapshot=_snapshot(created_indexes), row_counts=row_counts)
        committed.extend(statement.number for statement in group)
    return log.result(
        ok=True,
        summary=f"{total} statement(s) ran and were committed.",
        snapshot=_snapshot(created_indexes),
        row_counts=row_counts,
    )


def _run_creating_indexes(
    cursor: psycopg.Cursor[Any],
    statement: _Statement,
    total: int,
    log: OutputLog,
    created: list[dict[str, str]],
) -> int:
    if not isinstance(statement.node, ast.IndexStmt):
        return _execute(cursor, statement, total, log)
    table = _range_var(statement.node.relation)
    before = _indexes_of(cursor, table)
    try:
        return _execute(cursor, statement, total, log)
    finally:
        if statement.needs_autocommit or cursor.connection.info.transaction_status != _IN_ERROR:
            for schema, name in sorted(_indexes_of(cursor, table) - before):
                created.append({"schema": schema, "name": name, "table": str(table)})
                log.emit(f"    index {schema}.{name} recorded for rollback")


def _ranges(numbers: list[int]) -> str:
    spans: list[str] = []
    for number in sorted(numbers):
        if spans and spans[-1].split("-")[-1] == str(number - 1):
            spans[-1] = f"{spans[-1].split('-')[0]}-{number}"
        else:
            spans.append(str(number))
    return ", ".join(spans)


def _snapshot(created_indexes: list[dict[str, str]]) -> dict[str, Any] | None:
    if not created_indexes:
        return None
    return {"type": "sql", "created_indexes": created_indexes}


def rollback_sql_for_snapshot(snapshot: Mapping[str, Any]) -> str:
    """The SQL that undoes what the snapshot records: DROP INDEX CONCURRENTLY IF EXISTS per created index."""
    lines = []
    for index in snapshot.get("created_indexes", ()):
        schema, name = str(index["schema"]), str(index["name"])
        lines.append(f"DROP INDEX CONCURRENTLY IF EXISTS {_quote_ident(schema)}.{_quote_ident(name)};")
    return "\n".join(lines)


def _quote_ident(name: str) -> str:
    # Same rule as PostgreSQL's quote_ident for our purposes: always quote, double embedded quotes.
    if "\0" in name:
        raise ValueError("identifier contains a NUL byte")
    return pgsql.Identifier(name).as_string(None)


def restore_sql_snapshot(
    snapshot: Mapping[str, Any],
    *,
    dsn: str,
    statement_timeout_ms: int = 60000,
    lock_timeout_ms: int = 5000,
    on_output: OutputCallback | None = None,
) -> TargetResult:
    """Drop the indexes the real run created (each with DROP INDEX CONCURRENTLY IF EXISTS)."""
    rollback = rollback_sql_for_snapshot(snapshot)
    if not rollback:
        log = OutputLog(on_output)
        log.emit("the snapshot records no created index; nothing to undo")
        return log.result(ok=True, summary="Nothing to undo.")
    return run_sql(
        rollback,
        dsn=dsn,
        rehearsal=False,
        statement_timeout_ms=statement_timeout_ms,
        lock_timeout_ms=lock_timeout_ms,
        on_output=on_output,
    )


__all__ = ["SKIPPED_IN_REHEARSAL", "restore_sql_snapshot", "rollback_sql_for_snapshot", "run_sql"]
