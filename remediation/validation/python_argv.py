"""Commands a Python script starts: judged by the bash validator, with a small list of our own behind it.

``subprocess.run(["kubectl", "delete", "ns", "prod"])`` is a destructive CLI hidden in argv: Bandit
only says B603/B607 (low). When every argv element is a constant the command line is rebuilt and
validated as bash by ``remediation.validation.bash.validate`` (all commands of a script in one
batch); the bash validator is optional here (ImportError or a failure falls back), and the fallback
list below always runs so a Python verdict never depends on it alone.
"""

from __future__ import annotations

import bisect
import posixpath
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from remediation.validation.python_paths import is_root_like, is_system_path
from remediation.validation.types import Finding, Limit, Severity, ValidationContext

#: Stands for an argv element whose value the script does not show.
DYNAMIC = "\ufffd"


@dataclass(frozen=True, slots=True)
class CommandVerdict:
    severity: Severity
    reason: str


def bash_findings(
    commands: Sequence[tuple[int, str]],
    context: ValidationContext,
    *,
    scope_only: Sequence[tuple[int, str]] = (),
) -> list[Finding]:
    """Findings (medium and above) of the bash validator on ``(python_line, command_line)`` pairs.

    All command lines of one script go to the bash validator as one script (one parse, one ShellCheck
    run) and each finding is mapped back to the Python line that runs it. When the batch does not
    parse as bash, each command line is validated on its own so one odd string cannot hide the rest.
    ``scope_only`` command lines (argv with run-time parts written as unset variables) ride in the same
    batch, but only their access-scope findings (``scope.*``) are kept.
    """
    everything = [*commands, *scope_only]
    if not everything:
        return []
    # Only scope rules wanted: the rules alone answer that, without starting ShellCheck and shfmt.
    rules_only = not commands
    batch = _bash_batch(everything, context, rules_only=rules_only)
    if batch is None:
        batch = []
        for index, pair in enumerate(everything):
            batch.extend((index, f) for _, f in _bash_batch([pair], context, rules_only=rules_only) or [])
    return [f for index, f in batch if index < len(commands) or f.rule_id.startswith("scope.")]


def _bash_batch(
    commands: Sequence[tuple[int, str]], context: ValidationContext, *, rules_only: bool = False
) -> list[tuple[int, Finding]] | None:
    """(index of the command, finding) pairs; None when the joined script has a bash syntax error (the
    caller splits it up)."""
    script = "\n".join(command for _, command in commands) + "\n"
    if "\x00" in script or len(script.encode("utf-8", "surrogatepass")) > Limit.MAX_SCRIPT_BYTES:
        return []  # the engine would refuse it; the fallback list has judged each command already
    try:
        # The bash module's own validate(), the protocol the engine dispatches to: going through
        # engine.validate_script would run the cross-language checks a second time on every command.
        from remediation.validation import bash

        findings = bash.analyse_commands(script, context) if rules_only else bash.validate(script, context).findings
    except (ImportError, AttributeError):
        return []
    except Exception:  # noqa: BLE001 - a broken sibling validator must not take the Python verdict down
        return []
    if len(commands) > 1 and any(f.rule_id.startswith("syntax.") for f in findings):
        return None
    starts = []  # first bash line of each command
    line = 1
    for _, command in commands:
        starts.append(line)
        line += command.count("\n") + 1
    out = []
    for finding in findings:
        if finding.severity.rank < Severity.MEDIUM.rank or finding.rule_id.startswith("syntax."):
            continue
        index = max(bisect.bisect_right(starts, finding.line or 1) - 1, 0)
        python_line, command_line = commands[index]
        out.append(
            (
                index,
                Finding(
                    finding.rule_id,
                    finding.severity,
                    f"Command {command_line[:120]!r}: {finding.message}",
                    python_line,
                    finding.hint,
                ),
            )
        )
    return out


#: The unset shell variable a run-time argv element becomes (the bash rules treat it as unknown).
RUNTIME_VARIABLE = '"${PYTHON_RUNTIME_VALUE}"'


def runtime_command_line(argv: Sequence[str]) -> str:
    """A shell command line for an argv with run-time parts: each part becomes an unset variable."""
    words = []
    for arg in argv:
        pieces = arg.split(DYNAMIC)
        words.append(RUNTIME_VARIABLE.join(shlex.quote(p) if p else "" for p in pieces))
    return " ".join(words)


def _flags(args: Sequence[str]) -> set[str]:
    letters: set[str] = set()
    for arg in args:
        if arg.startswith("--"):
            letters.add(arg)
        elif arg.startswith("-") and len(arg) > 1:
            letters.update(arg[1:])
    return letters


def _targets(args: Sequence[str]) -> list[str]:
    return [a for a in args if not a.startswith("-")]


def _dangerous_path(path: str) -> bool:
    return path == DYNAMIC or DYNAMIC in path or is_root_like(path) or is_system_path(path)


_KILL_EVERYTHING = {"-1", "1"}
_SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "busybox"}
_CRITICAL_BINARIES = {
    "mkfs": "formats a filesystem",
    "wipefs": "erases filesystem signatures",
    "fdisk": "edits the partition table",
    "sfdisk": "edits the partition table",
    "parted": "edits the partition table",
    "blkdiscard": "discards a whole block device",
    "shred": "destroys file contents irrecoverably",
    "shutdown": "shuts the host down",
    "reboot": "reboots the host",
    "poweroff": "powers the host off",
    "halt": "halts the host",
    "userdel": "deletes a user account",
    "dropdb": "drops a database",
    "setenforce": "turns off SELinux enforcement",
    "nc": "opens a raw network connection (reverse shells, exfiltration)",
    "ncat": "opens a raw network connection (reverse shells, exfiltration)",
    "socat": "opens a raw network connection (reverse shells, exfiltration)",
}


def fallback_verdict(argv: Sequence[str]) -> CommandVerdict | None:
    """Our own small list of destructive command lines (used whether or not the bash validator exists)."""
    if not argv:
        return None
    command = posixpath.basename(argv[0])
    while command in {"sudo", "env", "nice", "nohup", "timeout", "ionice", "setsid", "stdbuf"} and len(argv) > 1:
        rest = list(argv[1:])
        while rest and (rest[0].startswith("-") or "=" in rest[0] or rest[0].isdigit()):
            rest = rest[1:]
        argv = rest
        if not argv:
            return None
        command = posixpath.basename(argv[0])
    args = list(argv[1:])
    flags = _flags(args)
    targets = _targets(args)
    if command == DYNAMIC or DYNAMIC in command:
        return CommandVerdict(Severity.HIGH, "the program to run is computed at run time")
    if command.startswith("mkfs") or command in _CRITICAL_BINARIES:
        reason = _CRITICAL_BINARIES.get(command, "formats a filesystem")
        return CommandVerdict(Severity.CRITICAL, f"{command} {reason}")
    if command in _SHELLS and "c" in flags:
        return None  # the caller validates the -c text itself
    if command == "rm":
        recursive = bool(flags & {"r", "R", "--recursive"})
        known_bad = [t for t in targets if DYNAMIC not in t and (is_root_like(t) or is_system_path(t))]
        if known_bad or "--no-preserve-root" in flags:
            return CommandVerdict(Severity.CRITICAL if recursive else Severity.HIGH, "rm of a system or root path")
        if any(DYNAMIC in t for t in targets):
            return CommandVerdict(Severity.HIGH if recursive else Severity.MEDIUM, "rm of a path computed at run time")
        return None
    if command == "dd" and any(a.startswith("of=/dev/") for a in args):
        return CommandVerdict(Severity.CRITICAL, "dd overwrites a block device")
    if command in {"chmod", "chown", "chgrp"}:
        mode_world = any(a in {"777", "666", "0777", "a+rwx", "o+w", "a+w"} or a.endswith("+s") for a in args)
        if any(_dangerous_path(t) for t in targets[1:]) or ("R" in flags and any(is_root_like(t) for t in targets)):
            return CommandVerdict(Severity.CRITICAL, f"{command} of system paths")
        if command == "chmod" and mode_world:
            return CommandVerdict(Severity.HIGH, "chmod makes files world-writable or setuid")
        return None
    if command in {"kill", "pkill", "killall"}:
        if command == "kill" and any(t in _KILL_EVERYTHING for t in targets):
            return CommandVerdict(Severity.CRITICAL, "kill -1 signals every process")
        if command in {"killall", "pkill"} and ("u" in flags or any(t in {"sshd", "init", "systemd"} for t in targets)):
            return CommandVerdict(Severity.HIGH, f"{command} kills a whole class of processes")
        return None
    if command == "systemctl" and targets:
        verb = targets[0]
        units = targets[1:]
        if verb in {"poweroff", "reboot", "halt", "isolate", "kexec", "rescue", "emergency"}:
            return CommandVerdict(Severity.CRITICAL, f"systemctl {verb} takes the host down")
        if verb in {"stop", "disable", "mask", "kill"} and any(
            u.split(".")[0] in {"sshd", "ssh", "auditd", "firewalld", "rsyslog", "systemd-journald", "apparmor"}
            for u in units
        ):
            return CommandVerdict(Severity.CRITICAL, f"systemctl {verb} of a protection or access service")
        if verb in {"mask"}:
            return CommandVerdict(Severity.HIGH, "systemctl mask prevents a service from starting again")
        return None
    if command in {"iptables", "ip6tables"} and (flags & {"F", "X", "--flush"} or "P" in flags):
        return CommandVerdict(Severity.CRITICAL, "iptables flush or default-policy change")
    if command == "nft" and "flush" in targets:
        return CommandVerdict(Severity.CRITICAL, "nft flush ruleset")
    if command == "ufw" and "disable" in targets:
        return CommandVerdict(Severity.CRITICAL, "ufw disable")
    if command == "crontab" and "r" in flags:
        return CommandVerdict(Severity.HIGH, "crontab -r deletes every scheduled job")
    if command == "kubectl" and targets[:1] == ["delete"]:
        kinds = {t.lower() for t in targets[1:3]}
        if flags & {"--all", "A", "--all-namespaces"} or kinds & {
            "ns",
            "namespace",
            "namespaces",
            "pv",
            "pvc",
            "crd",
            "persistentvolumeclaim",
            "node",
            "all",
        }:
            return CommandVerdict(Severity.CRITICAL, "kubectl delete of namespaces, volumes or everything")
        return None
    if command == "helm" and targets[:1] in (["uninstall"], ["delete"]):
        return CommandVerdict(Severity.HIGH, "helm uninstall removes a release")
    if command == "terraform" and targets[:1] == ["destroy"]:
        return CommandVerdict(Severity.CRITICAL, "terraform destroy")
    if command == "docker" and targets[:2] in (["system", "prune"], ["volume", "prune"]):
        return CommandVerdict(Severity.HIGH, "docker prune of volumes or the whole system")
    if command == "redis-cli" and {t.lower() for t in targets} & {"flushall", "flushdb"}:
        return CommandVerdict(Severity.CRITICAL, "redis FLUSHALL/FLUSHDB deletes every key")
    if command == "git" and (
        (targets[:1] == ["clean"] and "f" in flags)
        or targets[:2] == ["reset", "--hard"]
        or "--hard" in args
        or (targets[:1] == ["push"] and flags & {"f", "--force"})
    ):
        return CommandVerdict(Severity.HIGH, "git command that discards work or rewrites remote history")
    if command in {"passwd", "usermod", "visudo", "chpasswd"}:
        return CommandVerdict(Severity.HIGH, f"{command} changes accounts or privileges")
    if (command == "find" and "-delete" in args) or (command == "find" and "-exec" in args and "rm" in args):
        root = targets[0] if targets else "."
        if _dangerous_path(root):
            return CommandVerdict(Severity.CRITICAL, "find -delete from a system or root path")
        return None
    if command in {"curl", "wget"} and any(a.startswith("@/etc/") or "/.ssh/" in a for a in args):
        return CommandVerdict(Severity.CRITICAL, "uploads a secret file")
    return None


def embedded_shell_text(argv: Sequence[str]) -> str | None:
    """The script text of ``sh -c TEXT`` style argv, else None."""
    if len(argv) >= 3 and posixpath.basename(argv[0]) in _SHELLS:
        for index, arg in enumerate(argv[1:-1], start=1):
            if arg.startswith("-") and "c" in arg[1:]:
                return argv[index + 1]
    return None


def embedded_sql_text(argv: Sequence[str]) -> str | None:
    """The SQL of ``psql -c SQL`` / ``psql --command=SQL``, else None."""
    if not argv or posixpath.basename(argv[0]) != "psql":
        return None
    for index, arg in enumerate(argv):
        if arg in {"-c", "--command"} and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--command="):
            return arg.split("=", 1)[1]
    return None


def split_shell(text: str) -> list[list[str]]:
    """Simple commands of a constant shell string, for the fallback list (no expansion, no nesting)."""
    commands: list[list[str]] = []
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        current: list[str] = []
        for token in lexer:
            if token and set(token) <= set(";&|()<>"):
                if current:
                    commands.append(current)
                current = []
            else:
                current.append(token)
        if current:
            commands.append(current)
    except ValueError:
        return [text.split()]
    return commands
