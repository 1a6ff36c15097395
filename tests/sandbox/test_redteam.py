"""Hostile scripts against the local sandbox. Each case checks the HOST afterwards, not just the exit code.

Every hostile script here runs only through run_in_sandbox; the tests themselves only observe the
host (its processes, files, sockets) before and after.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import SandboxLimits, SandboxResult, run_in_sandbox

pytestmark = pytest.mark.usefixtures("bwrap_available")

REPO_ROOT = Path(__file__).resolve().parents[2]
LIMITS = SandboxLimits(wall_seconds=10, memory_bytes=128 * 1024 * 1024, max_output_bytes=64 * 1024)


def _live_host_processes(*, uid: int | None = None, cmdline_marker: str | None = None) -> list[int]:
    """Host pids that are alive (zombies are dead and hold nothing) and match the filter."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if uid is not None and entry.stat().st_uid != uid:
                continue
            stat = Path(entry.path, "stat").read_bytes()
            if stat[stat.rindex(b")") + 2 :].startswith(b"Z"):
                continue
            if cmdline_marker is not None:
                cmdline = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ")
                if cmdline_marker.encode() not in cmdline:
                    continue
        except (OSError, ValueError):
            continue
        found.append(int(entry.name))
    return found


def _assert_nothing_left(result: SandboxResult, marker: str | None = None) -> None:
    if result.host_uid is not None:
        assert _live_host_processes(uid=result.host_uid) == [], "a sandbox process outlived its run"
    if marker is not None:
        assert _live_host_processes(cmdline_marker=marker) == [], f"{marker!r} still runs on the host"


@pytest.fixture
def host_victim() -> Iterator[subprocess.Popen[bytes]]:
    """A harmless host process the sandbox will try to kill or trace."""
    victim = subprocess.Popen(["sleep", "120"])
    yield victim
    victim.kill()
    victim.wait()


@pytest.fixture
def host_file() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="redteam-"))
    directory.chmod(0o755)
    target = directory / "precious.txt"
    target.write_text("original\n")
    target.chmod(0o644)
    yield target
    shutil.rmtree(directory)


# ------------------------------------------------------------------------------ resource attacks


def test_fork_bomb_is_contained_and_leaves_no_process() -> None:
    before = len(_live_host_processes())
    started = time.monotonic()

    result = run_in_sandbox(":(){ :|:& };:\nsleep 2", language="bash", limits=SandboxLimits(wall_seconds=4))

    assert time.monotonic() - started < 15
    assert "Resource temporarily unavailable" in result.stderr or result.killed_reason is not None
    _assert_nothing_left(result)
    assert len(_live_host_processes()) < before + 20


def test_python_fork_bomb_stops_at_max_processes() -> None:
    script = (
        "import os\ncount = 0\n"
        "while True:\n"
        "    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
        "    if pid == 0:\n        import time; time.sleep(30)\n    count += 1\n"
        "print(count)\n"
    )
    result = run_in_sandbox(script, language="python", limits=SandboxLimits(wall_seconds=10, max_processes=20))

    assert result.exit_code == 0, result.stderr
    assert int(result.stdout) <= 20
    _assert_nothing_left(result)


def test_memory_bomb_is_killed_with_137() -> None:
    result = run_in_sandbox(
        "hog = []\nwhile True:\n    hog.append(bytearray(4 * 1024 * 1024))\n", language="python", limits=LIMITS
    )

    assert (result.exit_code, result.killed_reason) == (137, "memory")
    assert result.peak_memory_kb < (LIMITS.memory_bytes + 32 * 1024 * 1024) // 1024
    _assert_nothing_left(result)


def test_memory_spread_over_many_processes_is_summed_and_killed() -> None:
    # Each process stays under RLIMIT_AS; only the watchdog's sum can catch them.
    child = "import time; b = bytearray(40 * 1024 * 1024); b[::4096] = bytes(len(b[::4096])); time.sleep(8)"
    result = run_in_sandbox(
        f"for i in 1 2 3 4 5 6; do python3 -c '{child}' & done; wait", language="bash", limits=LIMITS
    )

    assert (result.exit_code, result.killed_reason) == (137, "memory")
    assert result.duration_ms < 6000
    _assert_nothing_left(result, marker="time.sleep(8)")


def test_disk_filling_stops_at_the_tmpfs_size_and_never_reaches_host_disk() -> None:
    limits = SandboxLimits(wall_seconds=10, workspace_bytes=16 * 1024 * 1024)
    host_free_before = shutil.disk_usage(tempfile.gettempdir()).free

    result = run_in_sandbox(
        "for i in $(seq 1 40); do head -c 1000000 /dev/zero > f$i || break; done; du -sk . | cut -f1",
        language="bash",
        limits=limits,
    )

    assert "No space left on device" in result.stderr
    assert int(result.stdout.split()[-1]) <= 16 * 1024
    # 40 MB were attempted; even with other writers on the host, far less than that went missing.
    assert host_free_before - shutil.disk_usage(tempfile.gettempdir()).free < 30 * 1024 * 1024


def test_one_huge_file_stops_at_max_file_bytes() -> None:
    limits = SandboxLimits(wall_seconds=10, max_file_bytes=1024 * 1024)
    result = run_in_sandbox("head -c 5000000 /dev/zero > big; stat -c %s big", language="bash", limits=limits)

    assert "File size limit exceeded" in result.stderr
    assert int(result.stdout.split()[-1]) == 1024 * 1024


def test_infinite_output_is_truncated_and_bounded() -> None:
    started = time.monotonic()
    result = run_in_sandbox("yes 'spam spam spam'", language="bash", limits=LIMITS)

    assert result.killed_reason == "output_limit" and result.stdout_truncated
    assert len(result.stdout.encode()) == LIMITS.max_output_bytes
    assert time.monotonic() - started < 5
    _assert_nothing_left(result)


def test_sleep_past_timeout_is_killed_and_gone_from_the_host() -> None:
    marker = f"{secrets.randbelow(10**6) + 10**6}.5"
    result = run_in_sandbox(f"sleep {marker}", language="bash", limits=SandboxLimits(wall_seconds=0.5))

    assert (result.exit_code, result.timed_out) == (124, True)
    _assert_nothing_left(result, marker=f"sleep {marker}")


def test_children_that_outlive_the_script_are_gone_after_the_run() -> None:
    marker = f"{secrets.randbelow(10**6) + 10**6}.25"
    script = f"(setsid sleep {marker} &)\nnohup sleep {marker} >/dev/null 2>&1 &\n( ( sleep {marker} & ) & )\necho bye"
    result = run_in_sandbox(script, language="bash", limits=LIMITS)

    assert result.exit_code == 0 and result.stdout == "bye\n"
    _assert_nothing_left(result, marker=f"sleep {marker}")


def test_rlimits_cannot_be_raised_from_inside() -> None:
    result = run_in_sandbox(
        "ulimit -Hu 100000 && echo raised; ulimit -Hd unlimited && echo raised", language="bash", limits=LIMITS
    )
    assert "raised" not in result.stdout


# ------------------------------------------------------------------------------ network


def test_tcp_to_a_host_loopback_server_never_connects() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    connections: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connections.append(server.accept())
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        result = run_in_sandbox(
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'exfil')\n"
            "    print('connected')\n"
            "except OSError as error:\n"
            "    print('refused', error)\n",
            language="python",
            limits=LIMITS,
        )
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join()
        server.close()

    assert connections == []
    assert result.stdout.startswith("refused")


def test_dns_lookup_fails() -> None:
    result = run_in_sandbox(
        "import socket\ntry:\n    print(socket.getaddrinfo('pypi.org', 443))\nexcept OSError as e:\n    print('failed', e)",
        language="python",
        limits=LIMITS,
    )
    assert result.stdout.startswith("failed")


def test_only_loopback_interface_exists() -> None:
    result = run_in_sandbox("cat /proc/net/dev", language="bash", limits=LIMITS)
    interfaces = {line.split(":")[0].strip() for line in result.stdout.splitlines()[2:]}
    assert interfaces == {"lo"}


# ------------------------------------------------------------------------------ secrets and files


def test_etc_shadow_is_not_there() -> None:
    assert Path("/etc/shadow").exists() or True  # the host may or may not have one; the sandbox never does
    result = run_in_sandbox("cat /etc/shadow; ls /etc", language="bash", limits=LIMITS)
    assert "No such file" in result.stderr
    assert "shadow" not in result.stdout and "ssh" not in result.stdout


def test_host_environment_secret_is_invisible(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = f"redteam-{secrets.token_hex(16)}"
    monkeypatch.setenv("GR_REDTEAM_SECRET", secret)

    result = run_in_sandbox(
        "env; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; cat /proc/1/environ", language="bash", limits=LIMITS
    )

    assert secret not in result.stdout + result.stderr
    assert os.environ["GR_REDTEAM_SECRET"] == secret


def test_project_files_and_root_home_are_not_mounted() -> None:
    paths = [str(REPO_ROOT), str(REPO_ROOT / ".data"), "/work", "/root", "/home", "/var/lib/postgresql"]
    result = run_in_sandbox(
        "\n".join(f"[ -e '{path}' ] && echo 'VISIBLE {path}'" for path in paths) + "\necho checked",
        language="bash",
        limits=LIMITS,
    )
    assert Path(REPO_ROOT / "pyproject.toml").exists()  # the host has them...
    assert result.stdout == "checked\n"  # ...the sandbox does not


def test_writing_outside_the_workspace_leaves_host_files_unchanged(host_file: Path) -> None:
    result = run_in_sandbox(
        f"echo pwned > '{host_file}'; echo pwned >> '{host_file}'; echo x > /usr/pwned; echo x > /etc/pwned;"
        f" touch /pwned; echo ok > /tmp/inside && echo tmp-ok",
        language="bash",
        limits=LIMITS,
    )
    assert host_file.read_text() == "original\n"
    assert not Path("/usr/pwned").exists() and not Path("/etc/pwned").exists() and not Path("/pwned").exists()
    assert "tmp-ok" in result.stdout  # its own /tmp works, and is not the host's
    assert not Path("/tmp/inside").exists()


def test_chmod_and_chown_on_host_paths_fail(host_file: Path) -> None:
    interpreter_mode = Path("/usr/bin/python3").resolve().stat().st_mode
    result = run_in_sandbox(
        f"chmod 777 /usr/bin/python3 '{host_file}'; chown 1000 /usr/bin/bash '{host_file}'; chmod u+s /usr/bin/bash",
        language="bash",
        limits=LIMITS,
    )
    assert result.exit_code != 0
    assert Path("/usr/bin/python3").resolve().stat().st_mode == interpreter_mode
    assert host_file.stat().st_mode & 0o777 == 0o644 and host_file.stat().st_uid == os.getuid()
    assert not Path("/usr/bin/bash").stat().st_mode & 0o4000


# ------------------------------------------------------------------------------ processes and privileges


def test_killing_a_host_process_fails(host_victim: subprocess.Popen[bytes]) -> None:
    result = run_in_sandbox(
        f"kill -9 {host_victim.pid}; kill -9 -1; pkill sleep; echo done", language="bash", limits=LIMITS
    )
    time.sleep(0.1)
    assert host_victim.poll() is None, "the host process was killed from inside the sandbox"
    assert "done" in result.stdout or result.killed_reason == "signal"


def test_ptrace_of_a_host_process_fails(host_victim: subprocess.Popen[bytes]) -> None:
    script = (
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        f"rc = libc.ptrace(16, {host_victim.pid}, 0, 0)\n"  # PTRACE_ATTACH
        "print('attach', rc, os.strerror(ctypes.get_errno()))\n"
        f"print('visible', os.path.exists('/proc/{host_victim.pid}/mem') and "
        f"open('/proc/{host_victim.pid}/cmdline','rb').read().startswith(b'sleep\\x00120'))\n"
    )
    result = run_in_sandbox(script, language="python", limits=LIMITS)

    assert "attach -1" in result.stdout
    assert "visible True" not in result.stdout
    with open(f"/proc/{host_victim.pid}/status") as status:
        assert "TracerPid:\t0" in status.read()
    assert host_victim.poll() is None


def test_setuid_binaries_and_capabilities_give_no_privilege() -> None:
    result = run_in_sandbox(
        "id -u; grep CapEff /proc/self/status; su -c id root </dev/null; sudo -n id; "
        "/usr/bin/newgrp 2>/dev/null </dev/null; id -u",
        language="bash",
        limits=LIMITS,
    )
    lines = result.stdout.split()
    assert lines[0] == "1000" and lines[-1] == "1000"
    assert "CapEff:\t0000000000000000" in result.stdout
    assert "uid=0" not in result.stdout


def test_mount_and_nested_namespaces_fail() -> None:
    result = run_in_sandbox(
        "mount -t tmpfs none /tmp && echo MOUNTED; unshare -rm true && echo UNSHARED; "
        "mount --bind /workspace /usr && echo BOUND; echo end",
        language="bash",
        limits=LIMITS,
    )
    assert result.stdout == "end\n"


def test_proc_tricks_fail(host_victim: subprocess.Popen[bytes]) -> None:
    python_mtime = Path("/usr/bin/python3").resolve().stat().st_mtime_ns
    script = (
        "import os\n"
        "for action, path, mode in [('write', '/proc/sysrq-trigger', 'w'), ('write', '/proc/self/exe', 'wb'),\n"
        "                           ('write', '/proc/sys/kernel/hostname', 'w')]:\n"
        "    try:\n"
        "        with open(path, mode) as handle:\n"
        "            handle.write('b' if mode == 'w' else b'x')\n"
        "        print('OK', path)\n"
        "    except OSError as error:\n"
        "        print('denied', path, error.errno)\n"
        "print('pids', sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n"
    )
    result = run_in_sandbox(script, language="python", limits=LIMITS)

    assert "OK " not in result.stdout
    assert Path("/usr/bin/python3").resolve().stat().st_mtime_ns == python_mtime
    pids = eval(result.stdout.split("pids ", 1)[1])
    assert len(pids) < 10, "the sandbox sees host processes"
    assert host_victim.poll() is None


def test_tiocsti_injection_fails() -> None:
    script = (
        "import fcntl, termios, os\n"
        "for target in ('/dev/tty', 0, 1, 2):\n"
        "    try:\n"
        "        fd = os.open(target, os.O_RDWR) if isinstance(target, str) else target\n"
        "        fcntl.ioctl(fd, termios.TIOCSTI, b'x')\n"
        "        print('INJECTED', target)\n"
        "    except OSError as error:\n"
        "        print('denied', target, error.errno)\n"
    )
    result = run_in_sandbox(script, language="python", limits=LIMITS)

    assert "INJECTED" not in result.stdout
    assert result.stdout.count("denied") == 4
    assert "denied /dev/tty 6" in result.stdout, "no controlling terminal (ENXIO) thanks to --new-session"


def test_hostile_script_is_never_run_by_the_test_process() -> None:
    # The canary only exists if something ran the script with the host's view of the file system.
    canary = Path(tempfile.gettempdir()) / f"redteam-canary-{secrets.token_hex(8)}"
    result = run_in_sandbox(f"touch '{canary}' && echo touched", language="bash", limits=LIMITS)
    assert not canary.exists()
    assert result.stdout == "touched\n"  # it ran, in the sandbox's own /tmp
    assert sys.executable  # the test interpreter is untouched and still here
