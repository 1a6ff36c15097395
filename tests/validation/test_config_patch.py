"""Configuration patch validation: diff metadata, exact application, per-type rules, corpus."""

from __future__ import annotations

import pytest

from remediation.validation import TargetSystem, ValidationContext, validate_script
from tests.validation.corpus_helpers import CORPUS, corpus_rates

CTX = ValidationContext(target_system=TargetSystem.APPLICATION)


def added(path: str, *lines: str) -> str:
    """A diff that appends ``lines`` after one context line of ``path``."""
    body = "".join(f"+{line}\n" for line in lines)
    return f"--- a/{path}\n+++ b/{path}\n@@ -1,1 +1,{1 + len(lines)} @@\n # header\n{body}"


def removed(path: str, *lines: str) -> str:
    body = "".join(f"-{line}\n" for line in lines)
    return f"--- a/{path}\n+++ b/{path}\n@@ -1,{1 + len(lines)} +1,1 @@\n # header\n{body}"


NGINX = "etc/nginx/conf.d/site.conf"
PG = "etc/postgresql/15/main/postgresql.conf"
HBA = "etc/postgresql/15/main/pg_hba.conf"
SSHD = "etc/ssh/sshd_config"
SUDO = "etc/sudoers.d/ops"
REDIS = "etc/redis/redis.conf"
APP = "srv/app/config.yaml"

# rule_id -> (diffs that must raise it, diffs that must not)
RULE_EXAMPLES: dict[str, tuple[list[str], list[str]]] = {
    "tls.verify_disabled": (
        [
            added(NGINX, "proxy_ssl_verify off;"),
            added(APP, "ssl_verify: false"),
            added("srv/app/.env", "DB_URL=postgres://db/app?sslmode=disable"),
        ],
        [
            added(NGINX, "proxy_ssl_verify on;"),
            added(APP, "ssl_verify: true"),
            added("srv/app/.env", "DB_URL=postgres://db/app?sslmode=verify-full"),
        ],
    ),
    "tls.weak_protocol": (
        [added(NGINX, "ssl_protocols TLSv1 TLSv1.2;")],
        [added(NGINX, "ssl_protocols TLSv1.2 TLSv1.3;")],
    ),
    "auth.disabled": (
        [added(APP, "auth_enabled: false"), added(NGINX, "auth_basic off;")],
        [added(APP, "auth_enabled: true")],
    ),
    "sshd.permit_root_login": ([added(SSHD, "PermitRootLogin yes")], [added(SSHD, "PermitRootLogin no")]),
    "sshd.password_authentication": (
        [added(SSHD, "PasswordAuthentication yes"), added(SSHD, "PermitEmptyPasswords yes")],
        [added(SSHD, "PasswordAuthentication no")],
    ),
    "sudoers.nopasswd_all": (
        [added(SUDO, "ops ALL=(ALL) NOPASSWD: ALL"), added(SUDO, "Defaults !authenticate")],
        [added(SUDO, "ops ALL=(root) NOPASSWD: /bin/systemctl restart app")],
    ),
    "sudoers.full_root": (
        [added(SUDO, "%devs ALL=(ALL:ALL) ALL")],
        [added(SUDO, "%devs ALL=(root) /usr/bin/journalctl")],
    ),
    "listen.all_interfaces": (
        [added(PG, "listen_addresses = '*'"), added(REDIS, "bind 0.0.0.0"), added(APP, "admin_listen: 0.0.0.0:9000")],
        [
            added(PG, "listen_addresses = 'localhost'"),
            added(REDIS, "bind 127.0.0.1"),
            added(APP, "admin_listen: 127.0.0.1:9000"),
        ],
    ),
    "pg.durability_off": ([added(PG, "fsync = off"), added(PG, "full_page_writes = off")], [added(PG, "fsync = on")]),
    "pg.archive_command_network": (
        [added(PG, "archive_command = 'nc backup 9000 < %p'")],
        [added(PG, "archive_command = 'pgbackrest --stanza=main archive-push %p'")],
    ),
    "app.debug_enabled": (
        [added(APP, "debug: true"), added(APP, "log_level: DEBUG"), added("srv/app/.env", "LOG_LEVEL=debug")],
        [added(APP, "debug: false"), added(APP, "log_level: INFO"), added(APP, "# set debug: true locally")],
    ),
    "cors.wildcard": (
        [added(NGINX, "add_header Access-Control-Allow-Origin *;"), added(APP, "cors_allowed_origins: ['*']")],
        [added(NGINX, "add_header Access-Control-Allow-Origin https://shop.example.com;")],
    ),
    "limits.removed": (
        [
            added(NGINX, "client_max_body_size 0;"),
            added(PG, "max_connections = 50000"),
            added(NGINX, "proxy_read_timeout 86400s;"),
            removed(NGINX, "limit_req zone=api burst=20;"),
        ],
        [
            added(NGINX, "client_max_body_size 20m;"),
            added(PG, "max_connections = 300"),
            added(NGINX, "proxy_read_timeout 120s;"),
            added(PG, "statement_timeout = 30000"),
        ],
    ),
    "include.writable_dir": (
        [
            added(NGINX, "include /tmp/*.conf;"),
            added(SUDO, "#includedir /tmp/s"),
            added(SSHD, "Include /home/*/ssh.conf"),
        ],
        [added(NGINX, "include /etc/nginx/snippets/gzip.conf;"), added(SUDO, "#includedir /etc/sudoers.d")],
    ),
    "nginx.filesystem_exposure": (
        [added(NGINX, "alias /;"), added(NGINX, "root /etc;")],
        [added(NGINX, "root /srv/www/static;")],
    ),
    "nginx.autoindex": ([added(NGINX, "autoindex on;")], [added(NGINX, "autoindex off;")]),
    "nginx.proxy_pass_metadata": (
        [added(NGINX, "proxy_pass http://169.254.169.254/;")],
        [added(NGINX, "proxy_pass http://app_upstream;")],
    ),
    "nginx.unterminated_directive": (
        [added(NGINX, "proxy_pass http://app", "include /etc/nginx/extra.conf;")],
        [added(NGINX, "location /x {", "proxy_pass http://app;", "}")],
    ),
    "access.control_removed": (
        [removed(NGINX, 'auth_basic "admin";'), removed(NGINX, "deny all;"), removed(SSHD, "AllowUsers deploy")],
        [removed(NGINX, "gzip on;")],
    ),
    "pg_hba.trust": (
        [added(HBA, "host all all 0.0.0.0/0 trust"), added(HBA, "host all all 10.0.0.0/8 password")],
        [added(HBA, "host app app 10.0.3.0/24 scram-sha-256"), added(HBA, "host all all 127.0.0.1/32 trust")],
    ),
    "pg_hba.open_to_world": (
        [added(HBA, "hostssl all all 0.0.0.0/0 scram-sha-256")],
        [added(HBA, "hostssl app app 10.1.0.0/16 scram-sha-256")],
    ),
    "patch.parse_error": (["this is not a diff\n"], [added(APP, "pool: 4")]),
    "patch.path_escape": ([added("../../etc/shadow", "x")], [added("etc/app/x.conf", "x")]),
    "patch.mode_change": (["diff --git a/x b/x\nold mode 100644\nnew mode 100755\n"], [added(APP, "pool: 4")]),
    "patch.symlink": (
        ["diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+/etc/shadow\n"],
        ["diff --git a/l b/l\nnew file mode 100644\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+pool: 4\n"],
    ),
    "patch.deletion": (["--- a/x.conf\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-a = 1\n"], [added(APP, "pool: 4")]),
    "patch.rename": (
        ["diff --git a/a b/b\nsimilarity index 100%\nrename from a\nrename to b\n"],
        [added(APP, "pool: 4")],
    ),
    "patch.binary": (
        ["diff --git a/x.bin b/x.bin\nindex 1..2 100644\nGIT binary patch\nliteral 3\nKcmZ?l\n\n"],
        [added(APP, "pool: 4")],
    ),
}


def _rule_ids(text: str, context: ValidationContext = CTX) -> set[str]:
    return {f.rule_id for f in validate_script(text, language="config_patch", context=context).findings}


@pytest.mark.parametrize("rule_id", sorted(RULE_EXAMPLES))
def test_rule_matches_its_examples(rule_id: str) -> None:
    positives, negatives = RULE_EXAMPLES[rule_id]
    for text in positives:
        assert rule_id in _rule_ids(text), f"{rule_id} should match:\n{text}"
    for text in negatives:
        assert rule_id not in _rule_ids(text), f"{rule_id} should not match:\n{text}"


CURRENT = "upstream app {\n    server 10.0.3.7:8008;\n    keepalive 32;\n}\n"
PORT_FIX = "--- a/etc/nginx/conf.d/app.conf\n+++ b/etc/nginx/conf.d/app.conf\n@@ -1,3 +1,3 @@\n upstream app {\n-    server 10.0.3.7:8008;\n+    server 10.0.3.7:8080;\n     keepalive 32;\n"


def _with(**kwargs: object) -> ValidationContext:
    return ValidationContext(target_system=TargetSystem.NGINX, **kwargs)  # type: ignore[arg-type]


def test_exact_application_passes_and_offset_or_fuzz_fails() -> None:
    assert validate_script(PORT_FIX, language="config_patch", context=_with(current_config=CURRENT)).passed
    shifted = "# managed by ops\n" + CURRENT  # git apply would need an offset of one line
    result = validate_script(PORT_FIX, language="config_patch", context=_with(current_config=shifted))
    assert not result.passed
    assert [f.rule_id for f in result.findings] == ["patch.does_not_apply"]
    crlf = CURRENT.replace("\n", "\r\n")
    assert "patch.does_not_apply" in _rule_ids(PORT_FIX, _with(current_config=crlf))


def test_result_checks_need_the_current_file() -> None:
    unbalanced = (
        "--- a/etc/nginx/conf.d/app.conf\n+++ b/etc/nginx/conf.d/app.conf\n@@ -3,2 +3,1 @@\n     keepalive 32;\n-}\n"
    )
    assert "nginx.unbalanced_braces" in _rule_ids(unbalanced, _with(current_config=CURRENT))


def test_expected_path_and_allowed_hosts_from_context() -> None:
    context = _with(
        rca_components=({"kind": "file", "name": "/etc/nginx/conf.d/app.conf"},),
        allowed_hosts=("10.0.3.7",),
        current_config=CURRENT,
    )
    assert validate_script(PORT_FIX, language="config_patch", context=context).passed
    elsewhere = PORT_FIX.replace("conf.d/app.conf", "conf.d/other.conf")
    assert "patch.unexpected_path" in _rule_ids(elsewhere, context)
    moved = PORT_FIX.replace("+    server 10.0.3.7:8080;", "+    server 10.9.9.9:8080;")
    assert "nginx.upstream_unlisted_host" in _rule_ids(moved, context)


def test_sshd_first_value_wins() -> None:
    current = "PermitRootLogin yes\nPort 22\n"
    diff = "--- a/etc/ssh/sshd_config\n+++ b/etc/ssh/sshd_config\n@@ -2,1 +2,2 @@\n Port 22\n+PermitRootLogin no\n"
    assert "sshd.ineffective_setting" in _rule_ids(diff, _with(current_config=current))


def test_side_effects_and_versions() -> None:
    result = validate_script(PORT_FIX, language="config_patch", context=_with(current_config=CURRENT))
    assert result.side_effects == ["edits etc/nginx/conf.d/app.conf: +1 -1 lines in 1 hunk(s)"]
    assert "unidiff" in result.validator_versions


@pytest.mark.parametrize("junk", ["\x01\x02\x03\x04", "@@ -1,2 +1,2 @@\n x\n", "--- a\n+++ b\n@@ garbage @@\n+x\n"])
def test_bad_input_gives_a_finding_not_a_traceback(junk: str) -> None:
    result = validate_script(junk, language="config_patch", context=CTX)
    assert not result.passed


def test_corpus_recall_and_false_positives_at_high() -> None:
    recall, false_positive_rate, misses = corpus_rates("config_patch", "diff", TargetSystem.APPLICATION)
    print("\n".join(misses))
    assert len(list((CORPUS / "config_patch/dangerous").glob("*.diff"))) >= 25
    assert len(list((CORPUS / "config_patch/legitimate").glob("*.diff"))) >= 25
    assert recall >= 0.97, misses
    assert false_positive_rate <= 0.03, misses
