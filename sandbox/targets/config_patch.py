"""Apply an approved unified diff to one configuration file: rehearsal in memory, real run atomically.

The file must sit inside one of the operator's allowed roots, be a regular file and not a symbolic link.
Every access goes through a descriptor of the file's (resolved) parent directory and O_NOFOLLOW, so a
symlink swapped in after the checks is refused by the kernel rather than followed.

Rehearsal: read the file (or, when it does not exist on this host, the content the diff was approved
against), apply the hunks in memory exactly (no fuzz, no offset), check that the result still parses
for its type. Nothing is written.

Real run: refuse when the file differs from the content the diff was approved against; record a snapshot
(content, sha256, mode, owner); write the new content to a temporary file in the same directory, fsync,
keep mode and owner, rename it over the original and fsync the directory; re-read and re-check. On any
failure after the write, the snapshot is put back the same way and the run reports failure.

:func:`restore_config_snapshot` puts the snapshot back, but only while the file still holds exactly what
the patch wrote: a later edit by someone else is never overwritten.

Not preserved: extended attributes, ACLs and SELinux labels of the original file (the new file is a new
inode), and hard links to it (they keep the old content).
"""

from __future__ import annotations

import configparser
import errno
import hashlib
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import yaml

from sandbox.targets.types import OutputCallback, OutputLog, TargetResult, TargetUnavailable

#: Larger files are not configuration we patch line by line.
MAX_FILE_BYTES = 4 * 1024 * 1024


class PatchError(Exception):
    """The diff is malformed or does not apply exactly to the given text."""


# --------------------------------------------------------------------------- exact diff application

_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_GIT_EXTENDED_HEADER = re.compile(
    r"^(old mode|new mode|new file mode|deleted file mode|rename from|rename to|copy from|copy to|"
    r"similarity index|dissimilarity index|GIT binary patch|Binary files )"
)


@dataclass
class _Hunk:
    source_start: int
    source_length: int
    #: (kind, text): kind is " ", "-" or "+"; text includes its "\n" unless marked "\ No newline".
    lines: list[tuple[str, str]]

    def side(self, kinds: str) -> list[str]:
        return [text for kind, text in self.lines if kind in kinds]


@dataclass
class ParsedDiff:
    source_path: str
    target_path: str
    hunks: list[_Hunk]


def _split_lines(text: str) -> list[str]:
    """Lines with their "\\n" kept; only "\\n" ends a line (str.splitlines would also split on \\r,
    form feeds and Unicode separators, which a configuration file may legitimately contain)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _diff_path(header: str) -> str:
    path = header.split("\t", 1)[0].strip()
    if path.startswith('"'):
        raise PatchError(f"quoted (escaped) file names are not supported: {path[:80]}")
    return path


def parse_unified_diff(diff: str) -> ParsedDiff:
    """Parse a single-file unified diff; raise PatchError for anything else (several files, git mode or
    rename headers, binary patches, hunks whose line counts do not match their header)."""
    lines = _split_lines(diff)
    source = target = None
    hunks: list[_Hunk] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if _GIT_EXTENDED_HEADER.match(line):
            raise PatchError(f"git extended headers are not supported (only content changes): {line.strip()[:80]}")
        if line.startswith("--- ") and index + 1 < len(lines) and lines[index + 1].startswith("+++ "):
            if source is not None:
                raise PatchError("the diff changes more than one file; a configuration patch changes exactly one")
            source, target = _diff_path(line[4:]), _diff_path(lines[index + 1][4:])
            index += 2
            continue
        header = _HUNK_HEADER.match(line)
        if header is None:
            index += 1  # "diff --git", "index ...", commentary before the first file header
            continue
        if source is None:
            raise PatchError("a hunk comes before any '--- / +++' file header")
        source_start, source_length = int(header.group(1)), int(header.group(2) or "1")
        target_length = int(header.group(4) or "1")
        hunk = _Hunk(source_start, source_length, [])
        old_seen = new_seen = 0
        index += 1
        while index < len(lines) and (old_seen < source_length or new_seen < target_length):
            body = lines[index]
            kind = body[:1]
            if body in ("\n", ""):
                kind, body = " ", " \n"  # some tools strip the space of an empty context line
            if kind not in " -+":
                if kind == "\\" and hunk.lines:
                    _drop_newline(hunk)
                    index += 1
                    continue
                raise PatchError(f"hunk at -{source_start} ends early: unexpected line {body.rstrip()[:60]!r}")
            hunk.lines.append((kind, body[1:]))
            old_seen += kind in " -"
            new_seen += kind in " +"
            index += 1
        if old_seen != source_length or new_seen != target_length:
            raise PatchError(f"hunk at -{source_start} is shorter than its header says")
        while index < len(lines) and lines[index].startswith("\\"):
            _drop_newline(hunk)
            index += 1
        hunks.append(hunk)
    if source is None or target is None or not hunks:
        raise PatchError("the text holds no unified diff hunk")
    return ParsedDiff(source, target or "", hunks)


def _drop_newline(hunk: _Hunk) -> None:
    """ "\\ No newline at end of file" refers to the line just before it."""
    kind, text = hunk.lines[-1]
    hunk.lines[-1] = (kind, text[:-1] if text.endswith("\n") else text)


def apply_unified_diff(original: str, diff: str) -> str:
    """Apply ``diff`` to ``original`` exactly where its hunks say, like ``git apply`` without fuzz or
    offset: every context and removed line must match byte for byte (line endings and a missing final
    newline included). Raises PatchError saying where it does not apply."""
    parsed = parse_unified_diff(diff)
    if parsed.source_path == "/dev/null":
        if original:
            raise PatchError("the diff creates the file, but the file already has content")
    elif parsed.target_path == "/dev/null":
        raise PatchError("the diff deletes the file; a configuration patch edits it in place")
    source = _split_lines(original)
    result: list[str] = []
    position = 0
    for hunk in parsed.hunks:
        # A hunk that only adds lines (-N,0) inserts after line N; any other starts at line N.
        start = hunk.source_start if hunk.source_length == 0 else hunk.source_start - 1
        if start < position:
            raise PatchError(f"hunk at line {hunk.source_start} overlaps the hunk before it")
        expected = hunk.side(" -")
        if start + len(expected) > len(source):
            raise PatchError(f"hunk at line {hunk.source_start} reaches past the end of the file ({len(source)} lines)")
        for offset, wanted in enumerate(expected):
            found = source[start + offset]
            if found != wanted:
                raise PatchError(
                    f"line {start + offset + 1} does not match the patch: expected {wanted!r:.80}, found {found!r:.80}"
                )
        result.extend(source[position:start])
        result.extend(hunk.side(" +"))
        position = start + len(expected)
    result.extend(source[position:])
    return "".join(result)


# --------------------------------------------------------------------------- syntax checks

YAML_KIND, JSON_KIND, NGINX_KIND, INI_KIND, POSTGRESQL_KIND = "yaml", "json", "nginx", "ini", "postgresql.conf"


def detect_config_kind(path: str, text: str) -> str | None:
    """The syntax we know how to check for ``path``, or None."""
    name = os.path.basename(path).lower()
    if name.startswith("postgresql") and name.endswith(".conf"):
        return POSTGRESQL_KIND
    if name.endswith((".yaml", ".yml")):
        return YAML_KIND
    if name.endswith(".json"):
        return JSON_KIND
    if "nginx" in path.lower() or re.search(r"^\s*(http|server|upstream|location|events)\b[^\n;]*\{", text, re.M):
        return NGINX_KIND
    if name.endswith((".ini", ".cfg", ".cnf")):
        return INI_KIND
    return None


def check_config_parses(path: str, text: str) -> str | None:
    """None when ``text`` parses as the configuration type of ``path``; else what is wrong (with a line).
    Types without a checker (detect_config_kind returns None) pass."""
    kind = detect_config_kind(path, text)
    if kind == YAML_KIND:
        try:
            for _ in yaml.safe_load_all(text):
                pass
        except yaml.YAMLError as error:
            return f"YAML does not parse: {' '.join(str(error).split())[:300]}"
    elif kind == JSON_KIND:
        try:
            json.loads(text)
        except ValueError as error:
            return f"JSON does not parse: {error}"
    elif kind == NGINX_KIND:
        return _nginx_problem(text)
    elif kind == INI_KIND:
        parser = configparser.ConfigParser(interpolation=None, strict=True)
        try:
            parser.read_string(text, source=path)
        except configparser.Error as error:
            return f"INI does not parse: {' '.join(str(error).split())[:300]}"
    elif kind == POSTGRESQL_KIND:
        return _postgresql_conf_problem(text)
    return None


def _nginx_problem(text: str) -> str | None:
    """Brace balance (quotes and comments respected) and every directive ended by ';'.

    A line may continue onto the next only when it ends inside or right after a quoted string (the
    usual multi-line log_format); nginx -t would be better, but it is not available where this runs.
    """
    depth = 0
    quote: str | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        code = []
        index = 0
        while index < len(line):
            char = line[index]
            if quote:
                if char == "\\":
                    code.append(line[index : index + 2])
                    index += 2
                    continue
                if char == quote:
                    quote = None
                code.append(char)
            elif char in "\"'":
                quote = char
                code.append(char)
            elif char == "#":
                break
            else:
                if char == "{":
                    depth += 1
                elif char == "}":
                    depth -= 1
                    if depth < 0:
                        return f"nginx: unexpected '}}' on line {number}"
                code.append(char)
            index += 1
        stripped = "".join(code).strip()
        if quote is not None or not stripped:
            continue
        if not stripped.endswith((";", "{", "}")) and not stripped.endswith(("'", '"')):
            return f"nginx: the directive on line {number} does not end with ';': {stripped[:80]}"
    if quote is not None:
        return "nginx: a quoted string is never closed"
    if depth != 0:
        return f"nginx: {depth} '{{' without a matching '}}'"
    return None


_PG_SETTING = re.compile(
    r"""^\s*(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)\s*(?:=\s*|\s+)"""
    r"""(?P<value>'(?:[^'\\\n]|''|\\.)*'|[^\s#']+)\s*(?:#.*)?$"""
)


def _postgresql_conf_problem(text: str) -> str | None:
    """postgresql.conf: blank, comment, or ``name [=] value`` (value a bare word or a quoted string)."""
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not _PG_SETTING.match(line):
            return f"postgresql.conf: line {number} is not 'name = value': {stripped[:80]}"
    return None


# --------------------------------------------------------------------------- the file on disk


@dataclass(frozen=True)
class _Location:
    path: str  # as given (absolute, normalised)
    directory: str  # the resolved parent directory
    name: str


def _locate(path: str, allowed_roots: Sequence[str]) -> _Location:
    if not allowed_roots:
        raise TargetUnavailable("no allowed configuration roots are configured; refusing to touch any file")
    if not os.path.isabs(path) or "\0" in path:
        raise TargetUnavailable(f"the configuration path must be absolute: {path!r}")
    if os.path.normpath(path) != path or path.startswith("//"):
        raise TargetUnavailable(f"the configuration path is not normalised (no '..', '.', '//'): {path!r}")
    directory, name = os.path.split(path)
    real_directory = os.path.realpath(directory)
    for root in allowed_roots:
        real_root = os.path.realpath(root)
        inside = path.startswith(root.rstrip("/") + "/") and (
            real_directory == real_root or real_directory.startswith(real_root.rstrip("/") + "/")
        )
        if os.path.isabs(root) and inside:
            return _Location(path, real_directory, name)
    raise TargetUnavailable(f"{path} is not inside an allowed configuration root ({', '.join(allowed_roots)})")


@contextmanager
def _directory(location: _Location) -> Iterator[int]:
    try:
        fd = os.open(location.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        raise TargetUnavailable(f"cannot open the directory of {location.path}: {error.strerror}") from error
    try:
        yield fd
    finally:
        os.close(fd)


class _FileRefused(Exception):
    """The file on disk is not something we edit (symlink, not regular, too big, not UTF-8)."""


@dataclass(frozen=True)
class _Current:
    text: str
    sha256: str
    mode: int
    uid: int
    gid: int


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read(directory_fd: int, location: _Location) -> _Current | None:
    """The file's content and metadata; None when it does not exist."""
    try:
        info = os.stat(location.name, dir_fd=directory_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        raise _FileRefused(f"{location.path} is a symbolic link; only regular files are patched")
    if not stat.S_ISREG(info.st_mode):
        raise _FileRefused(f"{location.path} is not a regular file")
    try:
        # O_NONBLOCK: a FIFO swapped in after the lstat must not hang the open.
        fd = os.open(location.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=directory_fd)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _FileRefused(f"{location.path} is a symbolic link; only regular files are patched") from error
        raise _FileRefused(f"cannot open {location.path}: {error.strerror}") from error
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _FileRefused(f"{location.path} is not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise _FileRefused(f"{location.path} is larger than {MAX_FILE_BYTES} bytes")
        data = handle.read(MAX_FILE_BYTES + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _FileRefused(f"{location.path} is not UTF-8 text") from error
    return _Current(text, _sha256(text), stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)


def _write_atomically(directory_fd: int, location: _Location, text: str, mode: int, uid: int, gid: int) -> None:
    """Temporary file in the same directory, same mode and owner, fsync, rename over, fsync the directory."""
    temporary = f".{location.name}.remediation-{secrets.token_hex(6)}.tmp"
    fd = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=directory_fd
    )
    try:
        try:
            data = text.encode("utf-8")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if (os.fstat(fd).st_uid, os.fstat(fd).st_gid) != (uid, gid):
                os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)  # after chown: chown clears set-id bits
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, location.name, src_dir_fd=directory_fd, dst_dir_fd=directory_fd)
    except BaseException:
        try:
            os.unlink(temporary, dir_fd=directory_fd)
        except FileNotFoundError:
            pass
        raise
    os.fsync(directory_fd)


def _diff_matches_path(parsed: ParsedDiff, path: str) -> bool:
    """The diff's file name ("a/etc/nginx/nginx.conf", "nginx.conf") is the path or a tail of it."""
    for raw in (parsed.target_path, parsed.source_path):
        if raw == "/dev/null":
            continue
        name = raw[2:] if raw.startswith(("a/", "b/")) else raw
        parts = [part for part in name.split("/") if part not in ("", ".")]
        if ".." in parts or not parts:
            return False
        if path.split("/")[-len(parts) :] != parts:
            return False
    return True


# --------------------------------------------------------------------------- the runner


def apply_config_patch(
    diff: str,
    *,
    path: str,
    allowed_roots: Sequence[str],
    rehearsal: bool,
    expected_current: str | None = None,
    on_output: OutputCallback | None = None,
) -> TargetResult:
    """Rehearse or apply ``diff`` to the file at ``path``.

    ``expected_current`` is the content the diff was approved against: the real run refuses when the
    file differs from it; the rehearsal uses it when the file does not exist on this host. Raises
    TargetUnavailable when the path is not allowed (not absolute or normalised, outside every allowed
    root); a file that is a symlink, has changed, or does not take the patch is a failed TargetResult.
    """
    log = OutputLog(on_output)
    location = _locate(path, allowed_roots)
    stage = "Rehearsal" if rehearsal else "Patch"
    try:
        parsed = parse_unified_diff(diff)
    except PatchError as error:
        log.error(str(error))
        return log.result(ok=False, summary=f"{stage} refused: {error}.")
    if not _diff_matches_path(parsed, path):
        message = f"the diff is for {parsed.target_path!r}, not {path}"
        log.error(message)
        return log.result(ok=False, summary=f"{stage} refused: {message}.")
    with _directory(location) as directory_fd:
        try:
            current = _read(directory_fd, location)
        except _FileRefused as error:
            log.error(str(error))
            return log.result(ok=False, summary=f"{stage} refused: {error}.")
        if current is None:
            if rehearsal and expected_current is not None:
                log.emit(f"{path} does not exist on this host; rehearsing against the approved content")
                original = expected_current
            else:
                log.error(f"{path} does not exist")
                return log.result(ok=False, summary=f"{stage} refused: {path} does not exist.")
        else:
            original = current.text
            if expected_current is not None and current.sha256 != _sha256(expected_current):
                message = (
                    f"{path} has changed since the patch was approved (sha256 {current.sha256[:12]}, "
                    f"approved against {_sha256(expected_current)[:12]}); regenerate the patch"
                )
                log.error(message)
                return log.result(ok=False, summary=f"{stage} refused: {message}.")
        try:
            patched = apply_unified_diff(original, diff)
        except PatchError as error:
            log.error(f"the patch does not apply: {error}")
            return log.result(ok=False, summary=f"{stage} failed: the patch does not apply: {error}.")
        added = sum(kind == "+" for hunk in parsed.hunks for kind, _ in hunk.lines)
        removed = sum(kind == "-" for hunk in parsed.hunks for kind, _ in hunk.lines)
        log.emit(f"patch applies to {path}: {len(parsed.hunks)} hunk(s), +{added} -{removed} line(s)")
        problem = check_config_parses(path, patched)
        kind = detect_config_kind(path, patched)
        if problem is not None:
            log.error(f"the patched file would not parse: {problem}")
            return log.result(ok=False, summary=f"{stage} failed: the patched file would not parse: {problem}.")
        log.emit(f"the patched file parses ({kind})" if kind else "no syntax check is known for this file type")
        if rehearsal:
            return log.result(ok=True, summary=f"Rehearsal passed: the patch applies to {path} and the result parses.")
        assert current is not None  # a missing file was refused above outside rehearsal
        return _write_and_verify(directory_fd, location, current, patched, log)


def _write_and_verify(
    directory_fd: int, location: _Location, current: _Current, patched: str, log: OutputLog
) -> TargetResult:
    path = location.path
    snapshot: dict[str, Any] = {
        "type": "config_patch",
        "path": path,
        "sha256_before": current.sha256,
        "content_before": current.text,
        "mode": current.mode,
        "uid": current.uid,
        "gid": current.gid,
        "sha256_after": _sha256(patched),
    }
    try:
        # The last moment before the rename: refuse an edit that landed since we read the file.
        latest = _read(directory_fd, location)
        if latest is None or latest.sha256 != current.sha256:
            log.error(f"{path} changed while the patch was being prepared; nothing was written")
            return log.result(ok=False, summary=f"Patch refused: {path} changed while it was being patched.")
        _write_atomically(directory_fd, location, patched, current.mode, current.uid, current.gid)
    except (OSError, _FileRefused) as error:
        log.error(f"writing {path} failed: {error}")
        return log.result(ok=False, summary=f"Patch failed: writing {path} failed ({error}); the file is unchanged.")
    log.emit(f"wrote {path} (mode {current.mode:o}, owner {current.uid}:{current.gid})")
    try:
        written = _read(directory_fd, location)
        problem = (
            "the file is gone after the write"
            if written is None
            else "the file does not hold what was written"
            if written.sha256 != snapshot["sha256_after"]
            else check_config_parses(path, written.text)
        )
    except _FileRefused as error:
        problem = str(error)
    if problem is None:
        return log.result(ok=True, summary=f"Patched {path}; the result parses.", snapshot=snapshot)
    log.error(f"check after writing failed: {problem}; restoring the previous content")
    try:
        _write_atomically(directory_fd, location, current.text, current.mode, current.uid, current.gid)
    except OSError as error:
        log.error(f"restoring {path} FAILED: {error}")
        return log.result(
            ok=False,
            summary=f"Patch failed ({problem}) and restoring the previous content failed too ({error}); "
            "the snapshot holds the previous content.",
            snapshot=snapshot,
        )
    log.emit(f"restored the previous content of {path}")
    return log.result(ok=False, summary=f"Patch failed ({problem}); the previous content was restored.")


def restore_config_snapshot(
    snapshot: Mapping[str, Any],
    *,
    allowed_roots: Sequence[str],
    on_output: OutputCallback | None = None,
) -> TargetResult:
    """Put back the content and mode the snapshot recorded, only if the file still holds exactly what the
    patch wrote. Raises TargetUnavailable when the snapshot's path is not allowed (or the snapshot is
    not a configuration snapshot)."""
    log = OutputLog(on_output)
    try:
        path = str(snapshot["path"])
        content_before = str(snapshot["content_before"])
        sha256_after = str(snapshot["sha256_after"])
        mode, uid, gid = int(snapshot["mode"]), int(snapshot["uid"]), int(snapshot["gid"])
    except (KeyError, TypeError, ValueError) as error:
        raise TargetUnavailable(f"not a configuration patch snapshot: missing or bad {error}") from error
    location = _locate(path, allowed_roots)
    with _directory(location) as directory_fd:
        try:
            current = _read(directory_fd, location)
        except _FileRefused as error:
            log.error(str(error))
            return log.result(ok=False, summary=f"Restore refused: {error}.")
        if current is None:
            log.error(f"{path} no longer exists; not recreating it")
            return log.result(ok=False, summary=f"Restore refused: {path} no longer exists.")
        if current.sha256 != sha256_after:
            message = (
                f"{path} was changed after the patch was applied (sha256 {current.sha256[:12]}, the patch "
                f"wrote {sha256_after[:12]}); restoring would overwrite that change"
            )
            log.error(message)
            return log.result(ok=False, summary=f"Restore refused: {message}.")
        try:
            _write_atomically(directory_fd, location, content_before, mode, uid, gid)
            restored = _read(directory_fd, location)
        except (OSError, _FileRefused) as error:
            log.error(f"restoring {path} failed: {error}")
            return log.result(ok=False, summary=f"Restore failed: {error}.", snapshot=dict(snapshot))
    if restored is None or restored.text != content_before:
        log.error(f"{path} does not hold the restored content after the write")
        return log.result(ok=False, summary=f"Restore failed: {path} does not hold the restored content.")
    log.emit(f"restored {path} to its content before the patch (mode {mode:o}, owner {uid}:{gid})")
    return log.result(ok=True, summary=f"Restored {path} to its content before the patch.")


__all__ = [
    "PatchError",
    "apply_config_patch",
    "apply_unified_diff",
    "check_config_parses",
    "detect_config_kind",
    "parse_unified_diff",
    "restore_config_snapshot",
]
