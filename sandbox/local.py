"""Run one bash or python script in a bubblewrap sandbox with limits that bind even for root.

How the pieces bind (measured on the project's machines, see docs/sandbox.md):

* Isolation: bubblewrap unshares every namespace (user, pid, net, ipc, uts, mount, cgroup), drops all
  capabilities, forbids nested user namespaces and starts a new session (no TIOCSTI into our tty).
  The root file system holds read-only /usr, a handful of named /etc files, a fresh /proc and
  /dev, and two size-capped tmpfs mounts (/workspace, /tmp). Nothing of /work, /root, /home,
  /var or /etc/shadow is mounted; the environment is cleared and rebuilt from an allow-list.
* Limits: rlimits do not bind root, and RLIMIT_NPROC counts per host uid. So when we are root,
  every run leases a host uid of its own from a pool (200000 + n, a flock per uid) and bwrap is
  started as that uid; RLIMIT_NPROC then counts exactly this run's processes. When we are not
  root, the run keeps our uid and RLIMIT_NPROC is set to our current process count plus the limit.
  cgroups are not used: on these machines they are the session runner's (cgroup v1, a memory group
  per job), and a sandbox must not reshape its host's cgroup tree.
* Memory: RLIMIT_DATA per process (not RLIMIT_AS: Go programs such as kubectl reserve gigabytes of
  address space they never touch, and died at start under an address-space limit), plus a watchdog
  that sums the resident memory of every process
  the run owns and kills the run past ``memory_bytes`` (many small processes add up).
* Time: a wall-clock deadline kills bwrap's process group; --die-with-parent kills the sandbox's
  pid 1 with it, and the kernel kills every process in a pid namespace whose pid 1 died, so double
  forks, setsid and nohup children are gone too.
"""

from __future__ import annotations

import errno
import fcntl
import glob
import json
import math
import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Literal

from sandbox.limits import SandboxLimits

Language = Literal["bash", "python"]
KilledReason = Literal["timeout", "memory", "signal", "output_limit"]
OutputCallback = Callable[[str, str], None]

EXIT_TIMEOUT = 124
EXIT_KILLED = 137

BWRAP_CANDIDATES = ("/usr/bin/bwrap", "/usr/local/bin/bwrap")
#: util-linux's prlimit, run inside the sandbox from the read-only /usr.
PRLIMIT = "/usr/bin/prlimit"
#: util-linux's setpriv, which drops to the run's leased host uid before bwrap starts.
SETPRIV = "/usr/bin/setpriv"

#: Host uids leased to runs when we are root. Far above normal accounts and the usual
#: /etc/subuid ranges (100000-165535), and never used by any file on the host.
HOST_UID_POOL_START = 200_000
HOST_UID_POOL_SIZE = 4096

#: The uid and gid the script sees inside the sandbox.
SANDBOX_UID = 1000
SANDBOX_GID = 1000
WORKSPACE = "/workspace"
SCRIPT_DIR = "/sandbox"

SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: /etc files the interpreters and core tools read. Bound read-only one by one when present;
#: everything else in /etc (shadow, ssh keys, the machine's secrets) stays out.
ETC_READ_ONLY = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/nsswitch.conf",
    "/etc/protocols",
    "/etc/services",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/mime.types",
    "/etc/os-release",
    "/etc/debian_version",
    "/etc/bash.bashrc",
    "/etc/inputrc",
)
ETC_GLOBS = ("/etc/python3*",)

#: The script's own failure to allocate (RLIMIT_DATA refused a request) counts as a memory kill.
_ALLOCATION_FAILURE = re.compile(r"MemoryError|[Cc]annot allocate|x(?:m|re)alloc: |[Oo]ut of memory|std::bad_alloc")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_POLL_SECONDS = 0.01
_DRAIN_SECONDS = 2.0


class SandboxUnavailable(Exception):
    """bubblewrap is missing or cannot create namespaces on this host."""


@dataclass
class SandboxResult:
    exit_code: int
    timed_out: bool
    killed_reason: KilledReason | None
    stdout: str
    stderr: str
    duration_ms: float
    peak_memory_kb: int
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    #: The signal that ended the script when killed_reason is "signal", else None.
    signal: int | None = None
    #: "host-uid" (root: a leased host uid per run) or "same-uid" (not root).
    isolation: str = "host-uid"
    host_uid: int | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def find_bwrap() -> str:
    found = next((path for path in BWRAP_CANDIDATES if os.access(path, os.X_OK)), None) or shutil.which("bwrap")
    if found is None:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed; install it with `apt-get install bubblewrap`")
    if not os.access(PRLIMIT, os.X_OK):
        raise SandboxUnavailable(f"{PRLIMIT} is missing; install it with `apt-get install util-linux`")
    return found


# --------------------------------------------------------------------------- host uid leases


def _lock_dir() -> str:
    path = os.path.join(tempfile.gettempdir(), f"generative-remediation-sandbox-uids-{os.geteuid()}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(path)
    # Someone else's directory (or a symlink planted in /tmp) would let them hold our leases.
    if not os.path.isdir(path) or os.path.islink(path) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise SandboxUnavailable(f"uid lease directory {path} is not a private directory of ours")
    return path


@contextmanager
def _lease_host_uid() -> Iterator[int]:
    """Hold a flock on one uid of the pool for the run; the lock dies with our process."""
    directory = _lock_dir()
    start = int.from_bytes(os.urandom(2), "little") % HOST_UID_POOL_SIZE
    for offset in range(HOST_UID_POOL_SIZE):
        uid = HOST_UID_POOL_START + (start + offset) % HOST_UID_POOL_SIZE
        fd = os.open(
            os.path.join(directory, str(uid)),
            os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(fd)
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                continue
            raise
        if _pids_owned_by(uid):
            # A zombie of an earlier run (reaped late by the host's init) would still count
            # against this uid's RLIMIT_NPROC; take another uid.
            os.close(fd)
            continue
        try:
            yield uid
        finally:
            _kill_live_processes_of(uid)
            os.close(fd)
        return
    raise SandboxUnavailable(f"all {HOST_UID_POOL_SIZE} sandbox uids are in use")


# --------------------------------------------------------------------------- process accounting


def _pids_owned_by(uid: int) -> list[int]:
    pids = []
    with os.scandir("/proc") as entries:
        for entry in entries:
            if entry.name.isdigit():
                try:
                    if entry.stat(follow_symlinks=False).st_uid == uid:
                        pids.append(int(entry.name))
                except FileNotFoundError:
                    continue
    return pids


def _descendants_of(root_pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    with os.scandir("/proc") as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as stat_file:
                    stat = stat_file.read()
            except OSError:
                continue
            # The comm field may hold spaces and parentheses; ppid is the 2nd field after the last ")".
            ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, queue = [], [root_pid]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(children.get(pid, ()))
    return found


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _resident_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as statm:
                total += int(statm.read().split()[1]) * _PAGE_SIZE
        except (OSError, IndexError, ValueError):
            continue
    return total


def _live_pids_of(uid: int) -> list[int]:
    live = []
    for pid in _pids_owned_by(uid):
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat_file:
                stat = stat_file.read()
        except OSError:
            continue
        if not stat[stat.rindex(b")") + 2 :].startswith((b"Z", b"X")):
            live.append(pid)
    return live


def _kill_live_processes_of(uid: int, patience: float = 5.0) -> None:
    """Nothing may outlive a run: SIGKILL whatever still runs as the run's uid and wait until it is dead.

    Normally the pid namespace is already torn down; this covers the short window in which the
    kernel is still killing its processes. Zombies (already dead) are left to the host's init.
    """
    deadline = time.monotonic() + patience
    while live := _live_pids_of(uid):
        for pid in live:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                continue
        if time.monotonic() > deadline:
            raise SandboxUnavailable(f"processes {live} of sandbox uid {uid} survive SIGKILL")
        time.sleep(0.002)


def _count_processes_of(uid: int) -> int:
    return len(_pids_owned_by(uid))


# --------------------------------------------------------------------------- bwrap command line


def _memfd(name: str, content: bytes) -> int:
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    _write_all(fd, content)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _write_all(fd: int, content: bytes) -> None:
    view = memoryview(content)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _workspace_path(relative: str) -> PurePosixPath:
    path = PurePosixPath(relative)
    if not relative or path.is_absolute() or any(part in ("..", "") for part in path.parts) or str(path) == ".":
        raise ValueError(f"file name must be a relative path inside the workspace, got {relative!r}")
    return PurePosixPath(WORKSPACE) / path


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    args += ["--dir", "/etc"]
    etc_paths = list(ETC_READ_ONLY)
    for pattern in ETC_GLOBS:
        etc_paths += sorted(glob.glob(pattern))
    for path in etc_paths:
        args += ["--ro-bind-try", path, path]
    return args


_PASSWD = (
    "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
    f"sandbox:x:{SANDBOX_UID}:{SANDBOX_GID}:sandbox:{WORKSPACE}:/bin/bash\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
)
_GROUP = f"root:x:0:\nsandbox:x:{SANDBOX_GID}:\nnogroup:x:65534:\n"
_HOSTS = "127.0.0.1\tlocalhost sandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n"


def _sandbox_env(language: Language, extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {
        "PATH": SAFE_PATH,
        "HOME": WORKSPACE,
        "USER": "sandbox",
        "LOGNAME": "sandbox",
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
        # Fewer malloc arenas keep threaded programs' heap inside RLIMIT_DATA.
        "MALLOC_ARENA_MAX": "2",
    }
    if language == "python":
        # Unbuffered so that on_output sees each line when it is printed, not at exit.
        env |= {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    for name, value in (extra or {}).items():
        if not _ENV_NAME.match(name) or "\0" in value:
            raise ValueError(f"invalid environment variable {name!r}")
        env[name] = value
    return env


def _interpreter(language: Language) -> tuple[str, list[str]]:
    if language == "bash":
        return f"{SCRIPT_DIR}/script.sh", ["/bin/bash", "--noprofile", "--norc"]
    if language == "python":
        return f"{SCRIPT_DIR}/script.py", ["/usr/bin/python3", "-B", "-s"]
    raise ValueError(f"language must be 'bash' or 'python', got {language!r}")


# --------------------------------------------------------------------------- output capture


@dataclass
class _Stream:
    name: str
    chunks: list[bytes] = field(default_factory=list)
    pending: bytes = b""
    truncated: bool = False
    open: bool = True

    def text(self) -> str:
        return b"".join(self.chunks).decode("utf-8", errors="replace")


class _OutputCapture:
    """Keeps at most ``budget`` bytes of stdout+stderr and hands complete lines to the callback."""

    def __init__(self, budget: int, on_output: OutputCallback | None) -> None:
        self.remaining = budget
        self.on_output = on_output
        self.exceeded = False

    def feed(self, stream: _Stream, data: bytes) -> None:
        if self.exceeded:
            stream.truncated = stream.truncated or bool(data)
            return
        if len(data) > self.remaining:
            data = data[: self.remaining]
            stream.truncated = True
            self.exceeded = True
        self.remaining -= len(data)
        stream.chunks.append(data)
        if self.on_output is None:
            return
        stream.pending += data
        *lines, stream.pending = stream.pending.split(b"\n")
        for line in lines:
            self.on_output(stream.name, line.decode("utf-8", errors="replace"))

    def close(self, stream: _Stream) -> None:
        if self.on_output is not None and stream.pending:
            self.on_output(stream.name, stream.pending.decode("utf-8", errors="replace"))
        stream.pending = b""


# --------------------------------------------------------------------------- the run


def _rlimit_command(limits: SandboxLimits, nproc: int) -> list[str]:
    """prlimit(1) sets soft and hard limits as the last step before the interpreter starts.

    Setting them inside the sandbox (instead of in a preexec_fn, which is unsafe with threads and
    forces a full fork) leaves bwrap's own set-up unconstrained; nobody in the sandbox can raise a
    hard limit again, since that needs CAP_SYS_RESOURCE in the host's user namespace.
    """
    return [
        PRLIMIT,
        f"--data={limits.memory_bytes}",
        f"--nproc={nproc}",
        f"--fsize={limits.max_file_bytes}",
        f"--nofile={limits.max_open_files}",
        "--core=0",
        f"--cpu={math.ceil(limits.wall_seconds) + 1}",
        "--",
    ]


def run_in_sandbox(
    script: str,
    *,
    language: Language,
    limits: SandboxLimits = SandboxLimits(),  # noqa: B008 - frozen, so sharing the default is safe
    on_output: OutputCallback | None = None,
    env: Mapping[str, str] | None = None,
    files: Mapping[str, str] | None = None,
) -> SandboxResult:
    """Run ``script`` with bash or python inside bubblewrap and return what happened.

    ``on_output(stream, line)`` is called in this thread for every line (without its newline) as it
    arrives, until the output budget is spent. ``files`` are written into /workspace first
    (relative names only). Exit code: the script's own, 124 when killed for time, 137 when killed
    for memory, output or by a signal. Raises SandboxUnavailable when bwrap is missing or broken.
    """
    bwrap = find_bwrap()
    script_path, interpreter = _interpreter(language)
    sandbox_env = _sandbox_env(language, env)
    workspace_files = {_workspace_path(name): content for name, content in (files or {}).items()}
    # As root each run leases a host uid of its own; otherwise it keeps ours (see the module docstring).
    with _lease_host_uid() if os.geteuid() == 0 else nullcontext(None) as host_uid:
        return _run(bwrap, script, script_path, interpreter, sandbox_env, workspace_files, limits, on_output, host_uid)


def _run(
    bwrap: str,
    script: str,
    script_path: str,
    interpreter: list[str],
    sandbox_env: dict[str, str],
    workspace_files: dict[PurePosixPath, str],
    limits: SandboxLimits,
    on_output: OutputCallback | None,
    host_uid: int | None,
) -> SandboxResult:
    fds: list[int] = []
    info_read, info_write = os.pipe2(os.O_CLOEXEC)
    fds += [info_read, info_write]
    try:
        args = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns"]
        if limits.network:
            args += ["--share-net"]
        args += [
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--uid",
            str(SANDBOX_UID),
            "--gid",
            str(SANDBOX_GID),
            "--hostname",
            "sandbox",
            "--info-fd",
            str(info_write),
        ]
        args += _system_binds()
        if limits.network:
            args += ["--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf"]
        for target, content in (
            ("/etc/passwd", _PASSWD),
            ("/etc/group", _GROUP),
            ("/etc/hosts", _HOSTS),
        ):
            fd = _memfd(target, content.encode())
            fds.append(fd)
            args += ["--ro-bind-data", str(fd), target]
        args += ["--proc", "/proc", "--dev", "/dev"]
        size = str(limits.workspace_bytes)
        args += [
            "--size",
            size,
            "--tmpfs",
            "/tmp",
            "--size",
            size,
            "--perms",
            "0700",
            "--tmpfs",
            WORKSPACE,
        ]
        script_fd = _memfd("script", script.encode())
        fds.append(script_fd)
        args += ["--ro-bind-data", str(script_fd), script_path]
        made_dirs: set[PurePosixPath] = set()
        for path, content in workspace_files.items():
            for parent in reversed(path.parents):
                if len(parent.parts) > 2 and parent not in made_dirs:
                    made_dirs.add(parent)
                    args += ["--dir", str(parent)]
            fd = _memfd(path.name, content.encode())
            fds.append(fd)
            args += ["--file", str(fd), str(path)]
        args += ["--chdir", WORKSPACE, "--clearenv"]
        for name, value in sandbox_env.items():
            args += ["--setenv", name, value]
        if host_uid is not None:
            # Two processes of our own run as this uid (bwrap and the sandbox's pid 1).
            nproc = limits.max_processes + 2
        else:
            nproc = _count_processes_of(os.getuid()) + limits.max_processes + 2
        args += ["--", *_rlimit_command(limits, nproc), *interpreter, script_path]
        pass_fds = [fd for fd in fds if fd != info_read]
        for fd in pass_fds:
            os.set_inheritable(fd, True)

        if host_uid is not None:
            # setpriv drops to the leased uid in the child instead of Popen(user=...): with user/group
            # arguments CPython forks the whole (large) worker process; without them it can vfork,
            # which measured about 9 ms faster per run.
            args = [SETPRIV, f"--reuid={host_uid}", f"--regid={host_uid}", "--clear-groups", "--", *args]
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=pass_fds,
                close_fds=True,
                cwd="/",
                env={"PATH": SAFE_PATH},
                start_new_session=True,
            )
        except OSError as error:
            raise SandboxUnavailable(f"cannot start bubblewrap: {error}") from error
        os.close(info_write)
        fds.remove(info_write)
        return _supervise(process, started, limits, on_output, host_uid, info_read)
    finally:
        for fd in fds:
            os.close(fd)


def _kill(process: subprocess.Popen[bytes]) -> None:
    # bwrap leads its own session; --die-with-parent takes the sandbox's pid 1 (and so its whole
    # pid namespace) down with it.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _supervise(
    process: subprocess.Popen[bytes],
    started: float,
    limits: SandboxLimits,
    on_output: OutputCallback | None,
    host_uid: int | None,
    info_read: int,
) -> SandboxResult:
    assert process.stdout is not None and process.stderr is not None
    stdout, stderr = _Stream("stdout"), _Stream("stderr")
    streams = {process.stdout.fileno(): stdout, process.stderr.fileno(): stderr}
    capture = _OutputCapture(limits.max_output_bytes, on_output)
    deadline = started + limits.wall_seconds
    killed_reason: KilledReason | None = None
    peak_resident = 0
    exited_at: float | None = None
    status: int | None = None

    selector = selectors.DefaultSelector()
    for fd in streams:
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ)
    # A pidfd turns bwrap's exit into a selector event, so a run ends without waiting a poll tick.
    pidfd = os.pidfd_open(process.pid)
    selector.register(pidfd, selectors.EVENT_READ)
    # A first sample before waiting, so a script that ends within one poll tick still has a peak. It
    # follows the process tree (_descendants_of includes bwrap itself), not the leased uid: right
    # after the start setpriv may not have switched to that uid yet.
    peak_resident = _resident_bytes(_descendants_of(process.pid))
    try:
        while any(stream.open for stream in streams.values()) or status is None:
            for key, _ in selector.select(timeout=_POLL_SECONDS):
                if key.fd == pidfd:
                    selector.unregister(pidfd)
                    continue  # the wait4 below collects the status
                stream = streams[key.fd]
                try:
                    data = os.read(key.fd, 65536)
                except BlockingIOError:
                    continue
                if data:
                    capture.feed(stream, data)
                else:
                    stream.open = False
                    selector.unregister(key.fd)
                    capture.close(stream)
            now = time.monotonic()
            if status is None:
                pid, wait_status, _ = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    status, exited_at = wait_status, now
            if status is None and killed_reason is None:
                pids = _pids_owned_by(host_uid) if host_uid is not None else _descendants_of(process.pid)
                resident = _resident_bytes(pids)
                peak_resident = max(peak_resident, resident)
                if now >= deadline:
                    killed_reason = "timeout"
                elif resident > limits.memory_bytes:
                    killed_reason = "memory"
                elif capture.exceeded:
                    killed_reason = "output_limit"
                if killed_reason is not None:
                    _kill(process)
            if exited_at is not None and now - exited_at > _DRAIN_SECONDS:
                break  # every process of the sandbox is dead; nothing can still be writing
    finally:
        selector.close()
        os.close(pidfd)
        if status is None:
            _kill(process)
            _, status, _ = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        process.stdout.close()
        process.stderr.close()
    duration_ms = (time.monotonic() - started) * 1000

    info = _read_available(info_read)
    if not info and killed_reason is None:
        raise SandboxUnavailable(f"bubblewrap could not set up the sandbox: {stderr.text().strip()[:2000]}")

    exit_code = process.returncode
    signal_number: int | None = None
    if killed_reason == "timeout":
        exit_code = EXIT_TIMEOUT
    elif killed_reason is not None:
        exit_code = EXIT_KILLED
    elif exit_code < 0 or 128 < exit_code <= 128 + 64:
        # bwrap reports a script killed by signal N as 128+N; we were killed ourselves when negative.
        signal_number = -exit_code if exit_code < 0 else exit_code - 128
        if signal_number in (
            signal.SIGKILL,
            signal.SIGSEGV,
            signal.SIGBUS,
        ) and _allocation_failed(stderr.text()):
            killed_reason = "memory"
        else:
            killed_reason = "signal"
        exit_code = EXIT_KILLED
    elif exit_code != 0 and _allocation_failed(stderr.text()):
        killed_reason, exit_code = "memory", EXIT_KILLED

    # The watchdog's sampled total is the measure. wait4's ru_maxrss is not: Linux carries the
    # parent's high-water mark across fork and exec, so a large caller (a Django worker) would
    # report its own size as the script's peak.
    peak_kb = peak_resident // 1024
    return SandboxResult(
        exit_code=exit_code,
        timed_out=killed_reason == "timeout",
        killed_reason=killed_reason,
        stdout=stdout.text(),
        stderr=stderr.text(),
        duration_ms=round(duration_ms, 3),
        peak_memory_kb=int(peak_kb),
        stdout_truncated=stdout.truncated,
        stderr_truncated=stderr.truncated,
        signal=signal_number,
        isolation="host-uid" if host_uid is not None else "same-uid",
        host_uid=host_uid,
    )


def _allocation_failed(stderr: str) -> bool:
    return bool(_ALLOCATION_FAILURE.search(stderr[-4096:]))


def _read_available(fd: int) -> dict[str, object]:
    os.set_blocking(fd, False)
    try:
        data = os.read(fd, 65536)
    except BlockingIOError:
        return {}
    try:
        parsed = json.loads(data or b"{}")
    except ValueError:
        return {"raw": data.decode(errors="replace")}
    return parsed if isinstance(parsed, dict) else {"raw": parsed}
