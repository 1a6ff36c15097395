"""The configuration patch runner on real files under tmp_path (the only allowed root)."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from sandbox.targets.config_patch import (
    PatchError,
    apply_config_patch,
    apply_unified_diff,
    check_config_parses,
    restore_config_snapshot,
)
from sandbox.targets.types import TargetUnavailable

NGINX_BEFORE = """\
http {
    server {
        listen 80;
        client_max_body_size 1m;
    }
}
"""

NGINX_RAISE_BODY_SIZE = """\
--- a/nginx.conf
+++ b/nginx.conf
@@ -2,4 +2,4 @@
     server {
         listen 80;
-        client_max_body_size 1m;
+        client_max_body_size 50m;
     }
"""

# Applies cleanly, but the added directive has no ';' and the closing brace is gone.
NGINX_BREAKING = """\
--- a/nginx.conf
+++ b/nginx.conf
@@ -3,3 +3,2 @@
         listen 80;
-        client_max_body_size 1m;
-    }
+        client_max_body_size 50m
"""


@pytest.fixture
def nginx_conf(tmp_path: Path) -> Path:
    path = tmp_path / "nginx.conf"
    path.write_text(NGINX_BEFORE)
    path.chmod(0o640)
    return path


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- exact application


def test_apply_unified_diff_is_exact() -> None:
    assert apply_unified_diff(NGINX_BEFORE, NGINX_RAISE_BODY_SIZE) == NGINX_BEFORE.replace("1m;", "50m;")
    shifted = "# a comment line added since\n" + NGINX_BEFORE
    with pytest.raises(PatchError, match="does not match"):
        apply_unified_diff(shifted, NGINX_RAISE_BODY_SIZE)  # git would apply with an offset; we do not


def test_apply_unified_diff_keeps_crlf_and_missing_final_newline() -> None:
    original = "a = 1\r\nb = 2"
    diff = "--- a/x.ini\n+++ b/x.ini\n@@ -1,2 +1,2 @@\n a = 1\r\n-b = 2\n\\ No newline at end of file\n+b = 3\n"
    assert apply_unified_diff(original, diff) == "a = 1\r\nb = 3\n"


def test_a_diff_for_two_files_is_refused() -> None:
    two = NGINX_RAISE_BODY_SIZE + NGINX_RAISE_BODY_SIZE.replace("nginx.conf", "other.conf")
    with pytest.raises(PatchError, match="more than one file"):
        apply_unified_diff(NGINX_BEFORE, two)


@pytest.mark.parametrize(
    ("path", "text", "problem"),
    [
        ("/etc/app/config.yaml", "a: [1, 2\n", "YAML does not parse"),
        ("/etc/app/config.json", '{"a": 1,}', "JSON does not parse"),
        ("/etc/nginx/nginx.conf", "http {\n  server {\n  }\n", "'{' without a matching '}'"),
        ("/etc/nginx/nginx.conf", "http {\n  gzip on\n}\n", "line 2 does not end with ';'"),
        ("/etc/mysql/my.cnf", "max_connections = 10\n", "INI does not parse"),
        ("/etc/postgresql/15/main/postgresql.conf", "shared_buffers = '128MB\n", "line 1 is not"),
    ],
)
def test_check_config_parses_names_the_problem(path: str, text: str, problem: str) -> None:
    found = check_config_parses(path, text)
    assert found is not None
    assert problem in found


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/etc/app/config.yaml", "a: [1, 2]\n---\nb: c\n"),
        ("/etc/nginx/nginx.conf", "log_format main '$remote_addr '\n    '$status';\nhttp { gzip on; } # }\n"),
        ("/etc/mysql/my.cnf", "[mysqld]\nmax_connections = 10\n"),
        ("/etc/postgresql/15/main/postgresql.conf", "shared_buffers = '128MB'  # x\nwork_mem 4MB\n#x = y\n"),
    ],
)
def test_check_config_parses_accepts_valid_files(path: str, text: str) -> None:
    assert check_config_parses(path, text) is None


# --------------------------------------------------------------------------- rehearsal and real run


def test_rehearsal_writes_nothing(tmp_path: Path, nginx_conf: Path) -> None:
    result = apply_config_patch(
        NGINX_RAISE_BODY_SIZE, path=str(nginx_conf), allowed_roots=[str(tmp_path)], rehearsal=True
    )

    assert result.ok, result.summary
    assert result.snapshot is None
    assert nginx_conf.read_text() == NGINX_BEFORE


def test_rehearsal_uses_the_approved_content_when_the_file_is_absent(tmp_path: Path) -> None:
    missing = tmp_path / "nginx.conf"
    result = apply_config_patch(
        NGINX_BREAKING,
        path=str(missing),
        allowed_roots=[str(tmp_path)],
        rehearsal=True,
        expected_current=NGINX_BEFORE,
    )

    assert not result.ok
    assert "would not parse" in result.summary
    assert not missing.exists()


def test_real_run_writes_atomically_keeps_mode_and_records_snapshot(tmp_path: Path, nginx_conf: Path) -> None:
    lines: list[tuple[str, str]] = []
    result = apply_config_patch(
        NGINX_RAISE_BODY_SIZE,
        path=str(nginx_conf),
        allowed_roots=[str(tmp_path)],
        rehearsal=False,
        expected_current=NGINX_BEFORE,
        on_output=lambda stream, line: lines.append((stream, line)),
    )

    assert result.ok, result.summary
    assert "client_max_body_size 50m;" in nginx_conf.read_text()
    assert stat.S_IMODE(nginx_conf.stat().st_mode) == 0o640
    assert result.snapshot is not None
    assert result.snapshot["content_before"] == NGINX_BEFORE
    assert result.snapshot["sha256_before"] == _sha(NGINX_BEFORE)
    assert result.snapshot["mode"] == 0o640
    assert result.snapshot["uid"] == os.getuid()
    assert [p.name for p in tmp_path.iterdir()] == ["nginx.conf"]  # no temporary file left behind
    assert lines


def test_parse_failure_is_refused_before_writing(tmp_path: Path, nginx_conf: Path) -> None:
    result = apply_config_patch(NGINX_BREAKING, path=str(nginx_conf), allowed_roots=[str(tmp_path)], rehearsal=False)

    assert not result.ok
    assert result.exit_code == 1
    assert "does not end with ';'" in result.summary
    assert nginx_conf.read_text() == NGINX_BEFORE
    assert result.snapshot is None


def test_failure_after_the_write_restores_the_snapshot(
    tmp_path: Path, nginx_conf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The re-read after writing finds a broken file (as if the disk or a concurrent writer mangled it):
    the previous content must be put back."""
    import sandbox.targets.config_patch as module

    checks: list[str] = []
    real_check = module.check_config_parses

    def check_then_fail_after_write(path: str, text: str) -> str | None:
        checks.append(text)
        return "simulated: broken on re-read" if len(checks) == 2 else real_check(path, text)

    monkeypatch.setattr(module, "check_config_parses", check_then_fail_after_write)
    result = apply_config_patch(
        NGINX_RAISE_BODY_SIZE, path=str(nginx_conf), allowed_roots=[str(tmp_path)], rehearsal=False
    )

    assert not result.ok
    assert "previous content was restored" in result.summary
    assert nginx_conf.read_text() == NGINX_BEFORE
    assert stat.S_IMODE(nginx_conf.stat().st_mode) == 0o640
    assert "50m" in checks[1]  # the check really ran on the written file


def test_symlink_is_refused(tmp_path: Path, nginx_conf: Path) -> None:
    link = tmp_path / "linked-nginx.conf"
    link.symlink_to(nginx_conf)
    diff = NGINX_RAISE_BODY_SIZE.replace("nginx.conf", "linked-nginx.conf")

    result = apply_config_patch(diff, path=str(link), allowed_roots=[str(tmp_path)], rehearsal=False)

    assert not result.ok
    assert "symbolic link" in result.summary
    assert nginx_conf.read_text() == NGINX_BEFORE
    assert link.is_symlink()


def test_symlinked_directory_leading_outside_the_root_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "nginx.conf").write_text(NGINX_BEFORE)
    (root / "conf").symlink_to(outside)

    with pytest.raises(TargetUnavailable, match="not inside an allowed"):
        apply_config_patch(
            NGINX_RAISE_BODY_SIZE, path=str(root / "conf" / "nginx.conf"), allowed_roots=[str(root)], rehearsal=False
        )
    assert (outside / "nginx.conf").read_text() == NGINX_BEFORE


@pytest.mark.parametrize("bad_path", ["/etc/nginx/nginx.conf", "relative/nginx.conf", "{root}/sub/../nginx.conf"])
def test_paths_outside_the_roots_or_not_normalised_are_refused(tmp_path: Path, bad_path: str) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    with pytest.raises(TargetUnavailable):
        apply_config_patch(
            NGINX_RAISE_BODY_SIZE, path=bad_path.format(root=root), allowed_roots=[str(root)], rehearsal=True
        )


def test_no_allowed_roots_is_target_unavailable(nginx_conf: Path) -> None:
    with pytest.raises(TargetUnavailable, match="no allowed configuration roots"):
        apply_config_patch(NGINX_RAISE_BODY_SIZE, path=str(nginx_conf), allowed_roots=[], rehearsal=True)


def test_diff_for_another_file_is_refused(tmp_path: Path, nginx_conf: Path) -> None:
    diff = NGINX_RAISE_BODY_SIZE.replace("a/nginx.conf", "a/sites/other.conf").replace(
        "b/nginx.conf", "b/sites/other.conf"
    )
    result = apply_config_patch(diff, path=str(nginx_conf), allowed_roots=[str(tmp_path)], rehearsal=True)

    assert not result.ok
    assert "the diff is for" in result.summary


def test_drift_since_approval_is_refused(tmp_path: Path, nginx_conf: Path) -> None:
    approved_against = NGINX_BEFORE
    nginx_conf.write_text(NGINX_BEFORE.replace("listen 80;", "listen 80;\n        gzip on;"))  # edited after approval
    edited = nginx_conf.read_text()

    for rehearsal in (True, False):
        result = apply_config_patch(
            NGINX_RAISE_BODY_SIZE,
            path=str(nginx_conf),
            allowed_roots=[str(tmp_path)],
            rehearsal=rehearsal,
            expected_current=approved_against,
        )
        assert not result.ok
        assert "changed since the patch was approved" in result.summary
    assert nginx_conf.read_text() == edited


def test_restore_puts_back_content_and_mode(tmp_path: Path, nginx_conf: Path) -> None:
    applied = apply_config_patch(
        NGINX_RAISE_BODY_SIZE, path=str(nginx_conf), allowed_roots=[str(tmp_path)], rehearsal=False
    )
    assert applied.snapshot is not None
    nginx_conf.chmod(0o600)  # mode drift alone does not block the restore; content is what we compare

    restored = restore_config_snapshot(applied.snapshot, allowed_roots=[str(tmp_path)])

    assert restored.ok, restored.summary
    assert nginx_conf.read_text() == NGINX_BEFORE
    assert stat.S_IMODE(nginx_conf.stat().st_mode) == 0o640


def test_restore_refuses_after_a_later_manual_edit(tmp_path: Path, nginx_conf: Path) -> None:
    applied = apply_config_patch(
        NGINX_RAISE_BODY_SIZE, path=str(nginx_conf), allowed_roots=[str(tmp_path)], rehearsal=False
    )
    assert applied.snapshot is not None
    manual = nginx_conf.read_text().replace("listen 80;", "listen 8080;")
    nginx_conf.write_text(manual)

    restored = restore_config_snapshot(applied.snapshot, allowed_roots=[str(tmp_path)])

    assert not restored.ok
    assert "changed after the patch was applied" in restored.summary
    assert nginx_conf.read_text() == manual


def test_restore_checks_the_snapshot_path_against_the_roots(tmp_path: Path, nginx_conf: Path) -> None:
    applied = apply_config_patch(
        NGINX_RAISE_BODY_SIZE, path=str(nginx_conf), allowed_roots=[str(tmp_path)], rehearsal=False
    )
    assert applied.snapshot is not None
    forged = dict(applied.snapshot, path="/etc/passwd")

    with pytest.raises(TargetUnavailable):
        restore_config_snapshot(forged, allowed_roots=[str(tmp_path)])
