"""The SQL target runner against a real PostgreSQL (a throwaway database per test session).

PostgreSQL is expected at 127.0.0.1:5432 (user postgres, trust auth) or at TARGET_RUNNER_TEST_ADMIN_DSN.
When it does not answer the tests are skipped, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import psycopg
import pytest

from sandbox.targets.sql import SKIPPED_IN_REHEARSAL, restore_sql_snapshot, run_sql
from sandbox.targets.types import TargetUnavailable

ADMIN_DSN = os.environ.get("TARGET_RUNNER_TEST_ADMIN_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")


@pytest.fixture(scope="session")
def database_dsn() -> Iterator[str]:
    try:
        admin = psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.Error as error:
        message = f"PostgreSQL is not reachable at {ADMIN_DSN!r}: {error}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the SQL target runner tests need PostgreSQL in CI: {message}")
        pytest.skip(message)
    name = f"target_runner_test_{os.getpid()}"
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
        dsn = psycopg.conninfo.make_conninfo(ADMIN_DSN, dbname=name)
        try:
            yield dsn
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def accounts(database_dsn: str) -> Iterator[psycopg.Connection]:
    """A fresh `accounts` table with three 'stuck' rows and one 'ok' row; the connection autocommits."""
    with psycopg.connect(database_dsn, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS accounts CASCADE")
        connection.execute("CREATE TABLE accounts (id int PRIMARY KEY, status text NOT NULL, email text)")
        connection.execute(
            "INSERT INTO accounts VALUES (1, 'stuck', 'a@x'), (2, 'stuck', 'b@x'), (3, 'stuck', 'c@x'), (4, 'ok', 'd@x')"
        )
        yield connection


def _statuses(connection: psycopg.Connection) -> dict[int, str]:
    return dict(connection.execute("SELECT id, status FROM accounts ORDER BY id").fetchall())


def _index_exists(connection: psycopg.Connection, name: str) -> bool:
    return connection.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]


UNSTICK = "UPDATE accounts SET status = 'ok' WHERE status = 'stuck'"


def test_rehearsal_reports_row_count_and_changes_nothing(database_dsn: str, accounts: psycopg.Connection) -> None:
    seen: list[tuple[str, str]] = []
    result = run_sql(UNSTICK + ";", dsn=database_dsn, rehearsal=True, on_output=lambda s, line: seen.append((s, line)))

    assert result.ok
    assert result.exit_code == 0
    assert result.row_counts == [3]
    assert any("UPDATE 3" in line for _, line in seen), seen
    assert result.snapshot is None
    assert _statuses(accounts) == {1: "stuck", 2: "stuck", 3: "stuck", 4: "ok"}


def test_rehearsal_of_a_script_wrapped_in_begin_commit_still_commits_nothing(
    database_dsn: str, accounts: psycopg.Connection
) -> None:
    result = run_sql(f"BEGIN;\n{UNSTICK};\nCOMMIT;\n", dsn=database_dsn, rehearsal=True)

    assert result.ok, result.summary
    assert result.row_counts == [3]
    assert _statuses(accounts)[1] == "stuck"


def test_commit_in_the_middle_of_the_script_is_refused(database_dsn: str, accounts: psycopg.Connection) -> None:
    result = run_sql(f"{UNSTICK}; COMMIT; DELETE FROM accounts;", dsn=database_dsn, rehearsal=True)

    assert not result.ok
    assert result.exit_code == 1
    assert "controls the transaction" in result.summary
    assert _statuses(accounts)[1] == "stuck"


def test_real_run_commits_and_reports_each_statement(database_dsn: str, accounts: psycopg.Connection) -> None:
    script = f"{UNSTICK};\nDELETE FROM accounts WHERE id = 4;\nSELECT count(*) AS left_over FROM accounts;"
    result = run_sql(script, dsn=database_dsn, rehearsal=False)

    assert result.ok, result.summary
    assert result.row_counts == [3, 1, 1]
    assert _statuses(accounts) == {1: "ok", 2: "ok", 3: "ok"}
    assert "    3" in result.output  # the SELECT's row is shown


def test_failing_statement_rolls_the_whole_transaction_back(database_dsn: str, accounts: psycopg.Connection) -> None:
    script = f"{UNSTICK};\nINSERT INTO accounts (id, status) VALUES (1, 'duplicate');\nDELETE FROM accounts;"
    result = run_sql(script, dsn=database_dsn, rehearsal=False)

    assert not result.ok
    assert result.exit_code == 1
    assert "Statement 2 failed" in result.summary
    assert "duplicate key" in result.summary
    assert "Nothing had been committed" in result.summary
    assert result.row_counts == [3, -1, -1]  # the DELETE never ran
    assert _statuses(accounts) == {1: "stuck", 2: "stuck", 3: "stuck", 4: "ok"}


def test_statement_timeout_stops_a_long_statement(database_dsn: str, accounts: psycopg.Connection) -> None:
    started = time.monotonic()
    result = run_sql("SELECT pg_sleep(5);", dsn=database_dsn, rehearsal=False, statement_timeout_ms=1000)

    assert time.monotonic() - started < 4
    assert not result.ok
    assert "statement timeout" in result.summary
    assert "statement_timeout = 1000 ms" in result.summary


def test_lock_timeout_fires_while_another_session_holds_the_table(
    database_dsn: str, accounts: psycopg.Connection
) -> None:
    with psycopg.connect(database_dsn) as holder:
        holder.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")  # held until this transaction ends
        started = time.monotonic()
        result = run_sql(UNSTICK, dsn=database_dsn, rehearsal=False, lock_timeout_ms=300)
        waited = time.monotonic() - started
        holder.rollback()

    assert not result.ok
    assert "lock_timeout = 300 ms" in result.summary
    assert waited < 5
    assert _statuses(accounts)[1] == "stuck"


def test_create_index_concurrently_runs_in_the_real_run_and_rollback_drops_it(
    database_dsn: str, accounts: psycopg.Connection
) -> None:
    result = run_sql(
        "CREATE INDEX CONCURRENTLY accounts_email_idx ON accounts (email);", dsn=database_dsn, rehearsal=False
    )

    assert result.ok, result.summary
    assert _index_exists(accounts, "accounts_email_idx")
    assert result.snapshot == {
        "type": "sql",
        "created_indexes": [{"schema": "public", "name": "accounts_email_idx", "table": "accounts"}],
    }

    undone = restore_sql_snapshot(result.snapshot, dsn=database_dsn)
    assert undone.ok, undone.summary
    assert not _index_exists(accounts, "accounts_email_idx")


def test_unnamed_index_is_recorded_for_rollback(database_dsn: str, accounts: psycopg.Connection) -> None:
    result = run_sql("CREATE INDEX ON accounts (status);", dsn=database_dsn, rehearsal=False)

    assert result.ok
    assert result.snapshot is not None
    [index] = result.snapshot["created_indexes"]
    assert _index_exists(accounts, index["name"])


def test_create_index_concurrently_is_skipped_and_reported_in_rehearsal(
    database_dsn: str, accounts: psycopg.Connection
) -> None:
    script = f"{UNSTICK};\nCREATE INDEX CONCURRENTLY accounts_email_idx ON accounts (email);"
    result = run_sql(script, dsn=database_dsn, rehearsal=True)

    assert result.ok, result.summary
    assert any(
        f"{SKIPPED_IN_REHEARSAL}: CREATE INDEX CONCURRENTLY accounts_email_idx" in line for line in result.output
    ), result.output
    assert "1 skipped" in result.summary
    assert not _index_exists(accounts, "accounts_email_idx")
    assert _statuses(accounts)[1] == "stuck"


def test_rehearsal_checks_the_target_of_a_skipped_statement(database_dsn: str, accounts: psycopg.Connection) -> None:
    result = run_sql("CREATE INDEX CONCURRENTLY ON no_such_table (x);", dsn=database_dsn, rehearsal=True)

    assert not result.ok
    assert "no_such_table does not exist" in result.summary


def test_earlier_committed_group_is_named_when_a_later_one_fails(
    database_dsn: str, accounts: psycopg.Connection
) -> None:
    script = (
        f"{UNSTICK};\nCREATE INDEX CONCURRENTLY accounts_email_idx ON accounts (email);\n"
        "INSERT INTO accounts (id, status) VALUES (2, 'duplicate');"
    )
    result = run_sql(script, dsn=database_dsn, rehearsal=False)

    assert not result.ok
    assert "Statement 3 failed" in result.summary
    assert "Statements 1-2 had been committed" in result.summary
    assert _statuses(accounts)[1] == "ok"
    assert result.snapshot is not None
    assert result.snapshot["created_indexes"][0]["name"] == "accounts_email_idx"


def test_sql_that_does_not_parse_is_refused_before_connecting(database_dsn: str) -> None:
    result = run_sql("UPDATE accounts SET WHERE;", dsn="host=127.0.0.1 port=1 user=nobody", rehearsal=True)

    assert not result.ok
    assert "does not parse" in result.summary


def test_missing_or_unreachable_database_is_target_unavailable() -> None:
    with pytest.raises(TargetUnavailable, match="no database connection string"):
        run_sql("SELECT 1", dsn="", rehearsal=True)
    with pytest.raises(TargetUnavailable, match="cannot connect"):
        run_sql("SELECT 1", dsn="host=127.0.0.1 port=1 user=postgres connect_timeout=2", rehearsal=True)
