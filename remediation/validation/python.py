"""Python validator: stdlib ``ast`` with alias and constant resolution, plus Bandit as a library.

The script is parsed, never run. A syntax error fails it (``syntax.python``). Our own visitor
(:class:`_Analyzer`) resolves import aliases and constant strings through
:class:`remediation.validation.python_eval.Resolver` and applies the remediation-specific rules
Bandit lacks: destructive filesystem calls, destructive command lines hidden in argv (checked by
the bash validator when it is present, and by a fallback list always), dynamic dispatch, reverse
shells, exfiltration, mass kills, fork bombs and embedded SQL (checked by the SQL validator).
Bandit adds its mature checks (B102, B301, B307, B506, B602, B605, B608, ...), with ops noise
downgraded (see :mod:`remediation.validation.python_bandit`).

Rule catalogue with examples: docs/rules/python.md.
"""

from __future__ import annotations

import ast
import re
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

from remediation.validation import python_argv
from remediation.validation.bash_scope import scope_lists_set
from remediation.validation.python_bandit import bandit_findings, bandit_version
from remediation.validation.python_eval import UNKNOWN, PathInfo, Resolver
from remediation.validation.python_paths import (
    is_root_like,
    is_secret_file,
    is_sensitive_write_target,
    is_system_path,
)
from remediation.validation.python_scope import PythonScope
from remediation.validation.types import Finding, LanguageReport, Severity, ValidationContext

#: exec("...") of constant text nests the analysis; stop at this depth.
_MAX_NESTING = 3

_DELETE_CALLS = {
    "shutil.rmtree": True,
    "os.remove": False,
    "os.unlink": False,
    "os.rmdir": False,
    "os.removedirs": True,
    "pathlib.Path.unlink": False,
}
_PATH_DELETE_METHODS = {"unlink": False, "rmdir": False}
_SHELL_CALLS = frozenset(
    {"os.system", "os.popen", "os.popen2", "os.popen3", "os.popen4", "commands.getoutput",
     "commands.getstatusoutput", "subprocess.getoutput", "subprocess.getstatusoutput",
     "asyncio.create_subprocess_shell", "platform.popen"}
)  # fmt: skip
_SUBPROCESS_CALLS = frozenset(
    {"subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output", "subprocess.Popen",
     "asyncio.create_subprocess_exec", "sh.Command", "plumbum.local"}
)  # fmt: skip
_EXEC_ARGV_INDEX = {
    "os.execv": 1, "os.execve": 1, "os.execvp": 1, "os.execvpe": 1,
    "os.spawnv": 2, "os.spawnve": 2, "os.spawnvp": 2, "os.spawnvpe": 2,
}  # fmt: skip
_EXEC_LIST_START = {"os.execl": 1, "os.execle": 1, "os.execlp": 1, "os.execlpe": 1, "os.spawnl": 2, "os.spawnlp": 2}
_CODE_CALLS = frozenset({"eval", "exec", "compile", "runpy.run_path", "runpy.run_module", "execfile"})
_DESERIALISERS = frozenset(
    {"pickle.load", "pickle.loads", "pickle.Unpickler", "dill.load", "dill.loads", "marshal.load", "marshal.loads",
     "shelve.open", "jsonpickle.decode", "yaml.unsafe_load", "yaml.unsafe_load_all", "yaml.full_load",
     "yaml.full_load_all", "pandas.read_pickle", "joblib.load", "cloudpickle.loads", "cloudpickle.load"}
)  # fmt: skip
_SAFE_YAML_LOADERS = frozenset({"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"})
_SENSITIVE_MODULES = frozenset(
    {"os", "subprocess", "builtins", "shutil", "sys", "pty", "socket", "ctypes", "importlib", "posix", "pickle",
     "marshal", "commands"}
)  # fmt: skip
_PRIVILEGE_CALLS = frozenset(
    {"os.setuid", "os.setgid", "os.seteuid", "os.setegid", "os.setreuid", "os.setregid", "os.setresuid",
     "os.setresgid", "os.setgroups", "os.chroot"}
)  # fmt: skip
_NETWORK_FETCH = frozenset(
    {"urllib.request.urlretrieve", "urllib.request.urlopen", "urllib.urlretrieve", "urllib.urlopen", "requests.get",
     "requests.request", "httpx.get", "httpx.request", "urllib3.request", "wget.download", "http.client.HTTPConnection",
     "http.client.HTTPSConnection", "urllib.request.Request"}
)  # fmt: skip
_NETWORK_SEND_METHODS = frozenset(
    {"post", "put", "patch", "request", "send", "sendall", "sendto", "sendmail", "urlopen", "get"}
)
#: Roots of qualified names that talk to the network (sessions and sockets resolve through aliases).
_NETWORK_MODULES = frozenset(
    {"requests", "httpx", "urllib", "urllib3", "socket", "smtplib", "aiohttp", "http", "ftplib"}
)
#: Methods that only sockets and mailers have: any receiver counts.
_RAW_SEND_METHODS = frozenset({"send", "sendall", "sendto", "sendmail", "send_message"})
_SQL_METHODS = frozenset({"execute", "executemany", "executescript", "exec_driver_sql", "mogrify"})
_FORK_CALLS = frozenset({"os.fork", "os.forkpty", "multiprocessing.Process", "subprocess.Popen", "threading.Thread"})
_WRITE_CALLS_DEST = {
    "shutil.copy": 1, "shutil.copy2": 1, "shutil.copyfile": 1, "shutil.move": 1, "shutil.copytree": 1,
    "os.rename": 1, "os.replace": 1, "os.symlink": 1, "os.link": 1, "os.truncate": 0, "os.mknod": 0,
}  # fmt: skip
_PLACEHOLDER = re.compile(r"%\([A-Za-z_][A-Za-z_0-9]*\)s|%s|(?<![:\w]):[A-Za-z_][A-Za-z_0-9]*|\?")


@dataclass(slots=True)
class _Report:
    findings: list[Finding] = field(default_factory=list)
    side_effects: list[str] = field(default_factory=list)
    #: (Python line, command line) of every constant command the script runs, for the bash validator
    commands: list[tuple[int, str]] = field(default_factory=list)
    #: command lines with run-time parts (as unset variables): only the bash scope rules judge them
    scope_commands: list[tuple[int, str]] = field(default_factory=list)

    def add(self, rule_id: str, severity: Severity, line: int | None, message: str, hint: str) -> None:
        self.findings.append(Finding(rule_id, severity, message, line, hint))


def validate(text: str, context: ValidationContext) -> LanguageReport:
    """Validate Python ``text`` for ``context``; never raises on bad input."""
    report = _Report()
    try:
        _validate_into(text, context, report)
    except Exception as error:  # noqa: BLE001 - fail closed: a crash in a rule must not pass or raise
        report.add(
            "python.validator_error",
            Severity.HIGH,
            None,
            f"The script could not be fully checked ({type(error).__name__}).",
            "Simplify the script or report the input to the maintainers.",
        )
    return LanguageReport(
        findings=_dedupe(report.findings), side_effects=_unique(report.side_effects), versions=versions()
    )


def _validate_into(text: str, context: ValidationContext, report: _Report) -> None:
    text = text.removeprefix("\ufeff")  # a byte-order mark is valid at the start of a Python file
    tree = _parse(text, report, line_offset=0)
    if tree is not None:
        _analyse(tree, text, context, report, depth=0, anchor=None)
        report.findings.extend(python_argv.bash_findings(report.commands, context, scope_only=report.scope_commands))
        own_lines = {(f.line, f.severity.rank) for f in report.findings}
        for finding in bandit_findings(text):
            # Bandit repeats what our rules already said on the same line; keep only what it adds.
            if finding.severity.rank >= Severity.MEDIUM.rank and any(
                line == finding.line and rank >= finding.severity.rank for line, rank in own_lines
            ):
                continue
            report.findings.append(finding)


def versions() -> dict[str, str]:
    from remediation.validation import sql as sql_validator  # embedded SQL is checked with it

    return {
        "python-ast": ".".join(map(str, sys.version_info[:3])),
        "bandit": bandit_version(),
        **sql_validator.versions(),
    }


def _parse(text: str, report: _Report, line_offset: int, anchor: int | None = None) -> ast.Module | None:
    try:
        return ast.parse(text)
    except SyntaxError as error:
        line = anchor or ((error.lineno or 1) + line_offset)
        report.add(
            "syntax.python",
            Severity.CRITICAL,
            line,
            f"Python cannot parse the script: {error.msg}.",
            "Fix the syntax; the script is checked with Python's own parser.",
        )
    except (RecursionError, MemoryError, ValueError, OverflowError) as error:
        report.add(
            "syntax.python",
            Severity.CRITICAL,
            anchor or 1,
            f"Python cannot parse the script ({type(error).__name__}: too deeply nested or invalid).",
            "Simplify the script.",
        )
    return None


def _analyse(
    tree: ast.Module, text: str, context: ValidationContext, report: _Report, *, depth: int, anchor: int | None
) -> None:
    try:
        analyzer = _Analyzer(tree, context, report, depth=depth, anchor=anchor)
        analyzer.visit(tree)
        analyzer.finish()
    except RecursionError:
        report.add(
            "python.too_complex",
            Severity.HIGH,
            anchor,
            "The script is nested too deeply to be checked statically.",
            "Flatten the code.",
        )


class _Analyzer(ast.NodeVisitor):
    def __init__(
        self, tree: ast.Module, context: ValidationContext, report: _Report, *, depth: int, anchor: int | None
    ) -> None:
        self.resolver = Resolver(tree)
        self.context = context
        self.report = report
        self.depth = depth
        self.anchor = anchor
        self.socket_lines: list[int] = []
        self.shell_bridge_lines: list[int] = []  # pty.spawn / os.dup2
        self.fetch_lines: list[int] = []
        self.downloaded_paths: set[str] = set()
        self.dynamic_code_lines: list[int] = []
        self.tainted: set[str] = set()
        #: names bound by ``with CALL as name`` (os.scandir), so loops over them know the directory
        self.iterables: dict[str, ast.Call] = {}
        self._collect_taint(tree)
        #: access-scope checks, only when the service sets an allow-list (free otherwise)
        self.scope = PythonScope(self.resolver, context, self.add) if scope_lists_set(context) else None

    # -- plumbing -------------------------------------------------------------------------------------------------

    def line(self, node: ast.AST) -> int:
        return self.anchor or int(getattr(node, "lineno", 1) or 1)

    def add(self, rule_id: str, severity: Severity, node: ast.AST, message: str, hint: str) -> None:
        self.report.add(rule_id, severity, self.line(node), message, hint)

    def finish(self) -> None:
        if self.socket_lines and self.shell_bridge_lines:
            self.report.add(
                "python.reverse_shell",
                Severity.CRITICAL,
                self.anchor or self.shell_bridge_lines[0],
                "A socket connection is wired to a shell (pty.spawn / os.dup2): this is a reverse shell.",
                "Remove it; remediations never open interactive shells over the network.",
            )
        if self.fetch_lines and self.dynamic_code_lines:
            self.report.add(
                "python.download_exec",
                Severity.CRITICAL,
                self.anchor or self.dynamic_code_lines[0],
                "The script downloads content and executes dynamic code: remote code runs unreviewed.",
                "Ship the code with the remediation instead of downloading it.",
            )

    # -- structure ------------------------------------------------------------------------------------------------

    def visit_For(self, node: ast.For) -> None:
        self._bind_loop(node.target, node.iter)
        self._check_process_loop(node.iter, node.body, node)
        self.generic_visit(node)

    visit_AsyncFor = visit_For  # type: ignore[assignment]

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self._bind_loop(node.target, node.iter)
        self.generic_visit(node)

    def visit_ListComp(self, node: ast.ListComp | ast.GeneratorExp | ast.SetComp) -> None:
        for generator in node.generators:
            self._bind_loop(generator.target, generator.iter)
            if not generator.ifs:
                self._check_process_loop(generator.iter, [ast.Expr(value=node.elt)], node)
        self.generic_visit(node)

    visit_GeneratorExp = visit_ListComp  # type: ignore[assignment]
    visit_SetComp = visit_ListComp  # type: ignore[assignment]

    def visit_While(self, node: ast.While) -> None:
        condition = self.resolver.value(node.test)
        endless = condition is not UNKNOWN and bool(condition)
        has_break = any(isinstance(n, ast.Break) for n in ast.walk(node))
        if endless and not has_break:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Call) and self._qualname_call(sub) in _FORK_CALLS:
                    self.add(
                        "python.fork_bomb",
                        Severity.CRITICAL,
                        sub,
                        "An endless loop creates processes or threads: a fork bomb exhausts the host.",
                        "Bound the loop and the number of workers.",
                    )
                    break
        self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        # "with os.scandir(D) as entries: for entry in entries" iterates D like a direct os.scandir loop.
        for item in node.items:
            if isinstance(item.context_expr, ast.Call) and isinstance(item.optional_vars, ast.Name):
                self.iterables[item.optional_vars.id] = item.context_expr
        self.generic_visit(node)

    def _bind_loop(self, target: ast.AST, iterable: ast.AST) -> None:
        if isinstance(iterable, ast.Name) and iterable.id in self.iterables:
            iterable = self.iterables[iterable.id]
        if not isinstance(iterable, ast.Call):
            return
        name = self._qualname_call(iterable)
        arg_path = self.resolver.path(iterable.args[0]) if iterable.args else None
        if name == "os.walk":
            root = arg_path or PathInfo("", exact=False)
            under = PathInfo(root.prefix.rstrip("/") + "/" if root.prefix else "", exact=False, source="walk")
            if isinstance(target, ast.Tuple) and target.elts:
                first = target.elts[0]
                if isinstance(first, ast.Name):
                    self.resolver.path_bindings[first.id] = (
                        PathInfo(under.prefix, False, "walk") if root.prefix else PathInfo("", False, "walk")
                    )
            return
        if name in {"os.listdir", "os.scandir"} and isinstance(target, ast.Name):
            root = arg_path or PathInfo(".", exact=False)
            self.resolver.entry_names[target.id] = PathInfo(root.prefix, exact=False, source="listdir")
            return
        method = iterable.func.attr if isinstance(iterable.func, ast.Attribute) else ""
        if name in {"glob.glob", "glob.iglob"} or method in {"glob", "rglob", "iterdir"}:
            if name in {"glob.glob", "glob.iglob"}:
                pattern = self.resolver.value(iterable.args[0]) if iterable.args else UNKNOWN
                prefix = re.split(r"[*?\[]", pattern, maxsplit=1)[0] if isinstance(pattern, str) else ""
            else:
                base = self.resolver.path(iterable.func.value)  # type: ignore[attr-defined]
                prefix = base.prefix.rstrip("/") + "/" if base is not None and base.prefix else ""
            if isinstance(target, ast.Name):
                self.resolver.path_bindings[target.id] = PathInfo(prefix, exact=False, source="glob")

    # -- names and attributes -------------------------------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> None:
        if node.id == "__builtins__":
            self.add(
                "python.dynamic_dispatch",
                Severity.HIGH,
                node,
                "__builtins__ is reached directly: a way to call eval/exec/__import__ without naming them.",
                "Call functions by their plain names.",
            )

    def visit_Subscript(self, node: ast.Subscript) -> None:
        base = self.resolver.qualname(node.value)
        if base == "sys.modules" or (
            base in {"globals()", "builtins.__dict__"} and not isinstance(node.ctx, ast.Store)
        ):
            key = self.resolver.value(node.slice)
            self.add(
                "python.dynamic_dispatch",
                Severity.HIGH,
                node,
                f"Module or builtin reached through {base}[{key if key is not UNKNOWN else '...'}!r]: "
                "dynamic dispatch that hides what is called.",
                "Import modules and call functions by name.",
            )
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.Mult | ast.Pow | ast.LShift):
            left, right = self.resolver.value(node.left), self.resolver.value(node.right)
            size = 0
            if isinstance(left, str | bytes | list) and isinstance(right, int):
                size = len(left) * right
            elif isinstance(right, str | bytes | list) and isinstance(left, int):
                size = len(right) * left
            if size > 10**9:
                self.add(
                    "python.resource_exhaustion",
                    Severity.HIGH,
                    node,
                    f"Builds an object of about {size:.1e} elements: memory exhaustion.",
                    "Stream data in bounded chunks.",
                )
        self.generic_visit(node)

    # -- calls ----------------------------------------------------------------------------------------------------

    def _qualname_call(self, call: ast.Call) -> str:
        return self.resolver.qualname(call.func) or ""

    def visit_Call(self, node: ast.Call) -> None:
        name = self._qualname_call(node)
        method = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        self._check_dynamic_dispatch(node, name)
        self._check_delete(node, name, method)
        self._check_move_away(node, name)
        self._check_commands(node, name)
        self._check_code(node, name)
        self._check_deserialise(node, name)
        self._check_privileges(node, name)
        self._check_kill(node, name)
        self._check_permissions(node, name, method)
        self._check_writes(node, name, method)
        self._check_network(node, name, method)
        self._check_sql(node, method)
        if self.scope is not None:
            self.scope.check(node, name, method)
        self.generic_visit(node)

    def _check_dynamic_dispatch(self, node: ast.Call, name: str) -> None:
        func = name
        if func in {"getattr", "builtins.getattr"} and len(node.args) >= 2:
            base = self.resolver.qualname(node.args[0]) or ""
            attr = self.resolver.value(node.args[1])
            sensitive = base.split(".")[0] in _SENSITIVE_MODULES or base in {"globals()", "__builtins__"}
            if sensitive and (attr is UNKNOWN or not isinstance(node.args[1], ast.Constant)):
                shown = repr(attr) if attr is not UNKNOWN else "a computed name"
                self.add(
                    "python.dynamic_dispatch",
                    Severity.HIGH,
                    node,
                    f"getattr({base}, {shown}): the function called on {base} is built at run time.",
                    "Call the function by its name.",
                )
        if func in {"__import__", "importlib.import_module", "importlib.__import__"}:
            module = self.resolver.value(node.args[0]) if node.args else UNKNOWN
            self.add(
                "python.dynamic_import",
                Severity.HIGH if module is UNKNOWN or module in _SENSITIVE_MODULES else Severity.MEDIUM,
                node,
                f"{func}({module if module is not UNKNOWN else '...'!r}) imports a module dynamically.",
                "Use a plain import statement.",
            )
        if name.startswith("ctypes."):
            libc_call = any(part in name for part in (".system", ".execv", ".popen", ".setuid", ".fork"))
            self.add(
                "python.ctypes",
                Severity.CRITICAL if libc_call else Severity.HIGH,
                node,
                f"{name} calls native code directly, bypassing every Python-level rule.",
                "Use the standard library or subprocess with a fixed argv.",
            )

    def _check_delete(self, node: ast.Call, name: str, method: str) -> None:
        recursive: bool | None = _DELETE_CALLS.get(name)
        target: ast.AST | None = node.args[0] if node.args else _keyword(node, "path")
        if recursive is None and method in _PATH_DELETE_METHODS and isinstance(node.func, ast.Attribute):
            receiver = self.resolver.path(node.func.value)
            if receiver is None and not self._looks_like_path(node.func.value):
                return
            recursive = _PATH_DELETE_METHODS[method]
            target = node.func.value
        if recursive is None or target is None:
            return
        info = self.resolver.path(target)
        verb = "recursively deletes" if recursive else "deletes"
        label = name or f"Path.{method}"
        rule_prefix = "python.walk_delete" if info is not None and info.source == "walk" else None
        if rule_prefix:
            recursive = True  # a delete inside os.walk removes the whole tree, file by file
        if info is None or (not info.exact and not info.prefix):
            self.add(
                rule_prefix or "python.delete_computed_path",
                Severity.HIGH if recursive else Severity.MEDIUM,
                node,
                f"{label} {verb} a path computed at run time; it may be empty, '/' or a system directory.",
                "Delete a literal path under the application's own directory, and assert the prefix first.",
            )
            return
        shown = info.prefix if info.exact else info.prefix + "..."
        directory = info.known_dir
        if (info.exact and is_root_like(info.prefix)) or (not info.exact and is_root_like(directory) and recursive):
            self.add(
                rule_prefix or "python.rmtree_root",
                Severity.CRITICAL,
                node,
                f"{label} {verb} {shown!r}: a root-like directory.",
                "Delete only a specific directory under the application's own path.",
            )
        elif is_system_path(info.prefix) or is_system_path(directory):
            self.add(
                rule_prefix or "python.delete_system_path",
                Severity.CRITICAL,
                node,
                f"{label} {verb} {shown!r} under a system or database directory.",
                "Never delete OS, boot or database files from a remediation.",
            )
        elif not info.exact and is_root_like(directory):
            self.add(
                rule_prefix or "python.delete_computed_path",
                Severity.HIGH,
                node,
                f"{label} {verb} files matched directly under {directory!r}.",
                "Restrict the deletion to the application's own directory.",
            )
        else:
            self.report.side_effects.append(f"{verb} {shown}")

    def _check_move_away(self, node: ast.Call, name: str) -> None:
        """Moving a system file away removes it from where the OS expects it, like a delete."""
        if name not in {"shutil.move", "os.rename", "os.replace", "os.renames"} or not node.args:
            return
        info = self.resolver.path(node.args[0])
        if info is None:
            return
        if is_system_path(info.prefix) or (info.exact and is_root_like(info.prefix)):
            self.add(
                "python.delete_system_path",
                Severity.CRITICAL,
                node,
                f"{name} moves {info.prefix!r} away from a system or database location.",
                "Never move OS, boot or database files from a remediation.",
            )

    def _looks_like_path(self, node: ast.AST) -> bool:
        return isinstance(node, ast.Call) and self._qualname_call(node) in {"pathlib.Path", "pathlib.PosixPath"}

    # -- commands -------------------------------------------------------------------------------------------------

    def _check_commands(self, node: ast.Call, name: str) -> None:
        if name in _SHELL_CALLS:
            self._shell(node, node.args[0] if node.args else _keyword(node, "cmd") or _keyword(node, "command"), name)
            return
        if name == "pty.spawn" or name == "os.dup2":
            self.shell_bridge_lines.append(self.line(node))
            if name == "pty.spawn":
                self.add(
                    "python.interactive_shell",
                    Severity.HIGH,
                    node,
                    "pty.spawn starts an interactive terminal program.",
                    "Remediations run non-interactive commands only.",
                )
            return
        if name in {"socket.socket", "socket.create_connection", "socket.socket().connect"} or name.endswith(
            ".connect_ex"
        ):
            self.socket_lines.append(self.line(node))
            return
        argv_node: ast.AST | None = None
        if name in _SUBPROCESS_CALLS:
            argv_node = node.args[0] if node.args else _keyword(node, "args")
            shell = _keyword(node, "shell")
            if shell is not None and self.resolver.value(shell) is not False:
                self._shell(node, argv_node, f"{name}(shell=True)")
                return
            if name == "asyncio.create_subprocess_exec":
                argv_node = ast.List(elts=list(node.args), ctx=ast.Load())
        elif name in _EXEC_ARGV_INDEX and len(node.args) > _EXEC_ARGV_INDEX[name]:
            argv_node = node.args[_EXEC_ARGV_INDEX[name]]
        elif name in _EXEC_LIST_START:
            argv_node = ast.List(elts=list(node.args[_EXEC_LIST_START[name] :]), ctx=ast.Load())
        if argv_node is not None:
            self._argv(node, argv_node, name)

    def _shell(self, node: ast.Call, command: ast.AST | None, label: str) -> None:
        text = self.resolver.value(command)
        if isinstance(text, list):
            text = " ".join(str(t) for t in text)
        if not isinstance(text, str):
            self.add(
                "python.shell_exec",
                Severity.HIGH,
                node,
                f"{label} runs a shell command built at run time: shell injection and unreviewable effects.",
                "Use subprocess.run([...]) with a fixed argv list and no shell.",
            )
            return
        self.add(
            "python.shell_exec",
            Severity.MEDIUM,
            node,
            f"{label} runs {text[:120]!r} through a shell.",
            "Use subprocess.run([...]) with an argv list and check=True.",
        )
        self._judge_command_line(node, text)

    def _argv(self, node: ast.Call, argv_node: ast.AST, name: str) -> None:
        value = self.resolver.value(argv_node)
        if isinstance(value, str):
            argv = shlex.split(value) if value.strip() else [value]
        elif isinstance(value, list):
            argv = [str(v) for v in value]
        elif isinstance(argv_node, ast.List | ast.Tuple):
            argv = []
            for element in argv_node.elts:
                item = self.resolver.value(element)
                if isinstance(element, ast.Starred):
                    argv.append(python_argv.DYNAMIC)
                else:
                    argv.append(str(item) if item is not UNKNOWN else python_argv.DYNAMIC)
        else:
            self.add(
                "python.dynamic_command",
                Severity.MEDIUM,
                node,
                f"{name} runs a command list built at run time.",
                "Pass a literal argv list so the command can be reviewed.",
            )
            return
        shown = " ".join("<?>" if python_argv.DYNAMIC in a else a for a in argv)
        self.report.side_effects.append(f"runs: {shown}")
        verdict = python_argv.fallback_verdict(argv)
        if verdict is not None:
            self.add(
                "python.destructive_command",
                verdict.severity,
                node,
                f"{name} runs {shown[:160]!r}: {verdict.reason}.",
                "Remove the destructive command or scope it to the RCA's component.",
            )
        if argv and python_argv.DYNAMIC not in "".join(argv):
            self._delegate_bash(node, shlex.join(argv))
        elif argv and self.scope is not None:
            # e.g. ["rm", "-f", path]: the run-time path cannot be shown to stay inside the allowed paths
            if isinstance(argv_node, ast.List | ast.Tuple) and len(argv_node.elts) == len(argv):
                argv = [
                    self._literal_head(e) if python_argv.DYNAMIC in a else a
                    for a, e in zip(argv, argv_node.elts, strict=True)
                ]
            self.report.scope_commands.append((self.line(node), python_argv.runtime_command_line(argv)))
        embedded = python_argv.embedded_shell_text(argv)
        if embedded is not None and python_argv.DYNAMIC not in embedded:
            self._judge_command_line(node, embedded)
        elif embedded is not None:
            self.add(
                "python.shell_exec",
                Severity.HIGH,
                node,
                f"{name} runs a shell -c script built at run time.",
                "Use a fixed argv list without a shell.",
            )
        sql = python_argv.embedded_sql_text(argv)
        if sql is not None and python_argv.DYNAMIC not in sql:
            self._embedded_sql(node, sql)

    def _literal_head(self, element: ast.expr) -> str:
        """``'/opt/app/' + name`` as its literal head and the run-time marker, so the directory is judged."""
        info = None if isinstance(element, ast.Starred) else self.resolver.path(element)
        return info.prefix + python_argv.DYNAMIC if info is not None and not info.exact else python_argv.DYNAMIC

    def _judge_command_line(self, node: ast.Call, text: str) -> None:
        for argv in python_argv.split_shell(text):
            verdict = python_argv.fallback_verdict(argv)
            if verdict is not None:
                self.add(
                    "python.destructive_command",
                    verdict.severity,
                    node,
                    f"Shell command {' '.join(argv)[:160]!r}: {verdict.reason}.",
                    "Remove the destructive command or scope it to the RCA's component.",
                )
            nested_sql = python_argv.embedded_sql_text(argv)
            if nested_sql is not None:
                self._embedded_sql(node, nested_sql)
        if re.search(r"\|\s*(sudo\s+)?(ba|da|z|k)?sh\b|\|\s*python", text) and re.search(r"\b(curl|wget)\b", text):
            self.add(
                "python.download_exec",
                Severity.CRITICAL,
                node,
                "Downloads a script and pipes it to an interpreter.",
                "Ship the code with the remediation.",
            )
        self.report.side_effects.append(f"runs shell: {text[:160]}")
        self._delegate_bash(node, text)

    def _delegate_bash(self, node: ast.Call, command_line: str) -> None:
        # Checked in one batch at the end of the script (see python_argv.bash_findings).
        self.report.commands.append((self.line(node), command_line))

    # -- code execution and deserialisation -----------------------------------------------------------------------

    def _check_code(self, node: ast.Call, name: str) -> None:
        if name not in _CODE_CALLS:
            return
        argument = node.args[0] if node.args else _keyword(node, "source")
        if argument is None:
            return
        text = self.resolver.value(argument)
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        obfuscated = self.resolver.contains_decoder(argument)
        if isinstance(text, str) and name in {"eval", "exec", "compile"}:
            if obfuscated:
                self.add(
                    "python.obfuscated_exec",
                    Severity.CRITICAL,
                    node,
                    f"{name}() runs code that is decoded at run time (base64/hex/rot13/zlib): hidden payload.",
                    "Write the code out in the script.",
                )
            else:
                self.add(
                    "python.dynamic_code",
                    Severity.LOW,
                    node,
                    f"{name}() of constant text; the text was checked as Python too.",
                    "Write the code out instead of passing it as a string.",
                )
            self._nested_python(node, text)
            return
        self.dynamic_code_lines.append(self.line(node))
        if obfuscated:
            self.add(
                "python.obfuscated_exec",
                Severity.CRITICAL,
                node,
                f"{name}() runs code decoded at run time: a hidden payload.",
                "Write the code out in the script.",
            )
            return
        from_network = any(
            isinstance(sub, ast.Call) and self._qualname_call(sub) in _NETWORK_FETCH for sub in ast.walk(argument)
        )
        self.add(
            "python.download_exec" if from_network else "python.dynamic_code",
            Severity.CRITICAL if from_network else Severity.HIGH,
            node,
            f"{name}() of text known only at run time"
            + (" (fetched from the network)" if from_network else "")
            + ": arbitrary code execution.",
            "Remove eval/exec; parse data with json or ast.literal_eval.",
        )

    def _nested_python(self, node: ast.Call, text: str) -> None:
        if self.depth >= _MAX_NESTING:
            self.add("python.dynamic_code", Severity.HIGH, node, "exec() nests code too deeply to check.", "Flatten.")
            return
        line = self.line(node)
        tree = _parse(text, self.report, 0, anchor=line)
        if tree is not None:
            _analyse(tree, text, self.context, self.report, depth=self.depth + 1, anchor=line)

    def _check_deserialise(self, node: ast.Call, name: str) -> None:
        unsafe = name in _DESERIALISERS
        if name in {"yaml.load", "yaml.load_all"}:
            loader = _keyword(node, "Loader") or (node.args[1] if len(node.args) > 1 else None)
            loader_name = (self.resolver.qualname(loader) or "") if loader is not None else ""
            unsafe = loader_name.split(".")[-1] not in _SAFE_YAML_LOADERS
        if unsafe:
            self.add(
                "python.unsafe_deserialization",
                Severity.HIGH,
                node,
                f"{name} can execute code embedded in the data it loads.",
                "Use json, or yaml.safe_load.",
            )

    # -- processes and privileges ---------------------------------------------------------------------------------

    def _check_privileges(self, node: ast.Call, name: str) -> None:
        if name in _PRIVILEGE_CALLS:
            target = self.resolver.value(node.args[0]) if node.args else UNKNOWN
            self.add(
                "python.privilege_change",
                Severity.CRITICAL if target == 0 or name == "os.chroot" else Severity.HIGH,
                node,
                f"{name}({target if target is not UNKNOWN else '...'}) changes the process's identity or root.",
                "Run the remediation with the account it needs instead of switching identity.",
            )

    def _check_kill(self, node: ast.Call, name: str) -> None:
        if name not in {"os.kill", "os.killpg"} or not node.args:
            return
        pid = self.resolver.value(node.args[0])
        if pid in {-1, 1} or (name == "os.killpg" and pid in {0, 1}):
            self.add(
                "python.kill_all",
                Severity.CRITICAL,
                node,
                f"{name}({pid}, ...) signals every process (or init): the host goes down.",
                "Signal the one process the RCA names.",
            )
        elif pid == 0:
            self.add(
                "python.kill_all",
                Severity.MEDIUM,
                node,
                f"{name}(0, ...) signals the whole process group, including the runner.",
                "Signal the one process the RCA names.",
            )
        else:
            self.report.side_effects.append("signals a process")

    def _check_process_loop(self, iterable: ast.AST, body: list[ast.stmt], node: ast.AST) -> None:
        if not isinstance(iterable, ast.Call):
            return
        source = self._qualname_call(iterable)
        if source not in {"psutil.process_iter", "psutil.pids", "os.listdir"}:
            return
        if source == "os.listdir" and self.resolver.value(iterable.args[0] if iterable.args else None) != "/proc":
            return
        for statement in body:
            for call, guarded in _calls_with_guard(statement, guarded=False):
                name = self._qualname_call(call)
                method = call.func.attr if isinstance(call.func, ast.Attribute) else ""
                if method in {"kill", "terminate", "send_signal", "suspend"} or name in {"os.kill", "os.killpg"}:
                    if guarded:
                        self.report.side_effects.append("signals processes selected by a filter")
                        continue
                    self.add(
                        "python.kill_all",
                        Severity.CRITICAL,
                        call,
                        f"Kills every process returned by {source}() without a filter.",
                        "Select the one process by name and pid, and check it before signalling.",
                    )
                    return

    # -- files ----------------------------------------------------------------------------------------------------

    def _check_permissions(self, node: ast.Call, name: str, method: str) -> None:
        target: ast.AST | None = None
        mode_node: ast.AST | None = None
        if name in {"os.chmod", "os.lchmod"}:
            target, mode_node = [*node.args, None, None][:2]
            mode_node = mode_node or _keyword(node, "mode")
        elif name in {"os.chown", "os.lchown", "shutil.chown"}:
            target = node.args[0] if node.args else None
        elif method == "chmod" and isinstance(node.func, ast.Attribute) and not name.startswith("os."):
            if self.resolver.path(node.func.value) is None and not self._looks_like_path(node.func.value):
                return
            target, mode_node = node.func.value, node.args[0] if node.args else _keyword(node, "mode")
        else:
            return
        info = self.resolver.path(target) if target is not None else None
        mode = self.resolver.value(mode_node) if mode_node is not None else UNKNOWN
        verb = "chmod" if "chmod" in (name or method) else "chown"
        if info is not None and (is_system_path(info.prefix) or (info.exact and is_root_like(info.prefix))):
            self.add(
                "python.permission_system_path",
                Severity.CRITICAL,
                node,
                f"{verb} of {info.prefix!r}: changing system file permissions or ownership breaks or opens the host.",
                "Change permissions only on the application's own files.",
            )
        elif isinstance(mode, int) and mode & 0o6002:
            self.add(
                "python.chmod_world_writable",
                Severity.HIGH,
                node,
                f"chmod to {oct(mode)}: world-writable or setuid/setgid.",
                "Use 0o640 / 0o750 style modes.",
            )
        elif info is not None:
            self.report.side_effects.append(f"{verb} {info.prefix}")

    def _check_writes(self, node: ast.Call, name: str, method: str) -> None:
        target: ast.AST | None = None
        if name in {"open", "io.open", "codecs.open", "os.open"}:
            mode = (
                self.resolver.value(node.args[1]) if len(node.args) > 1 else self.resolver.value(_keyword(node, "mode"))
            )
            if name == "os.open":
                flag_names = (
                    {sub.attr for sub in ast.walk(node.args[1]) if isinstance(sub, ast.Attribute)}
                    if len(node.args) > 1
                    else set()
                )
                writing = bool(flag_names & {"O_WRONLY", "O_RDWR", "O_APPEND", "O_TRUNC", "O_CREAT"})
            else:
                writing = isinstance(mode, str) and any(c in mode for c in "wax+")
            target = node.args[0] if node.args and writing else None
            if node.args and not writing:
                self._check_secret_read(node, node.args[0])
        elif name in _WRITE_CALLS_DEST and len(node.args) > _WRITE_CALLS_DEST[name]:
            target = node.args[_WRITE_CALLS_DEST[name]]
        elif method in {"write_text", "write_bytes", "symlink_to", "touch"} and isinstance(node.func, ast.Attribute):
            target = node.func.value
        elif method == "open" and isinstance(node.func, ast.Attribute) and self._looks_like_path(node.func.value):
            mode = self.resolver.value(node.args[0]) if node.args else UNKNOWN
            target = node.func.value if isinstance(mode, str) and any(c in mode for c in "wax+") else None
        elif method in {"read_text", "read_bytes"} and isinstance(node.func, ast.Attribute):
            self._check_secret_read(node, node.func.value)
        if target is None:
            return
        info = self.resolver.path(target)
        if info is None:
            return
        shown = info.prefix if info.exact else info.prefix + "..."
        if is_sensitive_write_target(info.prefix):
            self.add(
                "python.write_sensitive_file",
                Severity.CRITICAL,
                node,
                f"Writes {shown!r}: accounts, sudo, SSH keys, preload or startup files (privilege or persistence).",
                "Never modify access-control or startup files from a remediation.",
            )
        elif is_system_path(info.prefix) or (info.exact and is_root_like(info.prefix)):
            self.add(
                "python.write_system_path",
                Severity.HIGH,
                node,
                f"Writes {shown!r} under a system directory.",
                "Change system configuration through a reviewed config patch.",
            )
        else:
            self.report.side_effects.append(f"writes {shown}")

    def _check_secret_read(self, node: ast.Call, path_node: ast.AST) -> None:
        info = self.resolver.path(path_node)
        if info is not None and is_secret_file(info.prefix):
            self.add(
                "python.secret_file_read",
                Severity.HIGH,
                node,
                f"Reads {info.prefix!r}, a credential file.",
                "Remediations do not need private keys or password hashes.",
            )

    # -- network --------------------------------------------------------------------------------------------------

    def _check_network(self, node: ast.Call, name: str, method: str) -> None:
        if name in _NETWORK_FETCH:
            self.fetch_lines.append(self.line(node))
            if name in {"urllib.request.urlretrieve", "urllib.urlretrieve", "wget.download"} and len(node.args) > 1:
                dest = self.resolver.path(node.args[1])
                if dest is not None:
                    self.downloaded_paths.add(dest.prefix)
        verify = _keyword(node, "verify")
        if verify is not None and self.resolver.value(verify) is False:
            self.add(
                "python.tls_verify_disabled",
                Severity.MEDIUM,
                node,
                "TLS certificate verification is disabled: the peer can be impersonated.",
                "Pass verify='/path/to/ca.pem' for internal CAs instead of verify=False.",
            )
        if name in {"ssl._create_unverified_context"}:
            self.add(
                "python.tls_verify_disabled",
                Severity.MEDIUM,
                node,
                "An unverified SSL context disables certificate checks.",
                "Use ssl.create_default_context(cafile=...).",
            )
        root = name.split(".")[0]
        is_send = (method in _NETWORK_SEND_METHODS and root in _NETWORK_MODULES) or method in _RAW_SEND_METHODS
        if is_send or name in {"urllib.request.urlopen", "urllib.request.Request"}:
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                if self._carries_secrets(argument):
                    self.add(
                        "python.exfiltration",
                        Severity.CRITICAL,
                        node,
                        "Sends the process environment or a credential file over the network.",
                        "Send only the specific, non-secret values the remediation reports.",
                    )
                    return
        # Running a file that was just downloaded.
        if self.downloaded_paths and name in _SUBPROCESS_CALLS | _SHELL_CALLS:
            used = ast.unparse(node)
            if any(path in used for path in self.downloaded_paths):
                self.add(
                    "python.download_exec",
                    Severity.CRITICAL,
                    node,
                    "Runs a file the script downloaded: remote code runs unreviewed.",
                    "Ship the code with the remediation.",
                )

    def _carries_secrets(self, argument: ast.AST) -> bool:
        """Whether ``argument`` holds the whole environment or a credential file's content."""
        single_values = {
            id(sub.value)
            for sub in ast.walk(argument)
            if isinstance(sub, ast.Subscript)
            or (isinstance(sub, ast.Attribute) and sub.attr in {"get", "__getitem__", "pop"})
        }
        for sub in ast.walk(argument):
            if id(sub) in single_values:
                continue
            if isinstance(sub, ast.Attribute | ast.Name) and self.resolver.qualname(sub) in {
                "os.environ",
                "os.environb",
            }:
                return True
            if isinstance(sub, ast.Call) and self._qualname_call(sub) in {"open", "io.open"} and sub.args:
                info = self.resolver.path(sub.args[0])
                if info is not None and is_secret_file(info.prefix):
                    return True
            if isinstance(sub, ast.Call) and self._qualname_call(sub) in {"os.getenv", "os.environ.get"}:
                continue
            if isinstance(sub, ast.Name) and sub.id in self.tainted:
                return True
        return False

    def _collect_taint(self, tree: ast.Module) -> None:
        assignments = [n for n in ast.walk(tree) if isinstance(n, ast.Assign)]
        for _ in range(2):
            for assignment in assignments:
                if self._carries_secrets(assignment.value):
                    for target in assignment.targets:
                        self.tainted.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))

    # -- SQL ------------------------------------------------------------------------------------------------------

    def _check_sql(self, node: ast.Call, method: str) -> None:
        if method not in _SQL_METHODS or not node.args:
            return
        query = node.args[0]
        if isinstance(query, ast.Call) and (self._qualname_call(query).endswith("text")) and query.args:
            query = query.args[0]
        text = self.resolver.value(query)
        if isinstance(text, str):
            self._embedded_sql(node, text)
            return
        composed = self._composed_sql_template(query)
        if composed is not None:
            # psycopg.sql.SQL(...).format(sql.Identifier(...)) quotes its parts: not injection; check the shape.
            self._embedded_sql(node, composed.replace("{}", "dyn_value"), quiet=True)
            return
        if _is_string_building(query):
            self.add(
                "python.sql_injection",
                Severity.HIGH,
                node,
                "SQL is built with an f-string, % or + / .format(): injection, and the statement cannot be reviewed.",
                "Use parameters: cursor.execute('... WHERE id = %s', (value,)).",
            )
            skeleton = self._skeleton(query)
            if skeleton:
                self._embedded_sql(node, skeleton, quiet=True)

    def _composed_sql_template(self, node: ast.AST) -> str | None:
        """The template of ``sql.SQL("...").format(...)`` (psycopg's safe composition), else None."""
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"):
            return None
        receiver = node.func.value
        if not isinstance(receiver, ast.Call) or not receiver.args:
            return None
        if not (self.resolver.qualname(receiver.func) or "").endswith("sql.SQL"):
            return None
        template = self.resolver.value(receiver.args[0])
        return re.sub(r"\{[^{}]*\}", "{}", template) if isinstance(template, str) else None

    def _skeleton(self, node: ast.AST) -> str | None:
        """The SQL with each run-time piece replaced by an identifier, to check its shape."""
        if isinstance(node, ast.JoinedStr):
            parts = []
            for part in node.values:
                if isinstance(part, ast.FormattedValue):
                    value = self.resolver.value(part.value)
                    parts.append(str(value) if value is not UNKNOWN else "dyn_value")
                else:
                    parts.append(str(self.resolver.value(part)))
            return "".join(parts)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = self._skeleton(node.left)
            right = self._skeleton(node.right)
            return (left or "dyn_value") + (right or "dyn_value")
        value = self.resolver.value(node)
        return value if isinstance(value, str) else None

    def _embedded_sql(self, node: ast.Call, text: str, *, quiet: bool = False) -> None:
        from remediation.validation import sql as sql_validator

        prepared = _PLACEHOLDER.sub("'0'", text)
        report = sql_validator.validate(prepared, self.context)
        for finding in report.findings:
            if finding.rule_id == "syntax.sql":
                if not quiet:
                    self.add(
                        "python.embedded_sql_unparsed",
                        Severity.LOW,
                        node,
                        f"Embedded SQL could not be parsed for checking: {finding.message}",
                        "Keep embedded SQL to plain PostgreSQL statements.",
                    )
                continue
            self.report.add(
                finding.rule_id, finding.severity, self.line(node), f"Embedded SQL: {finding.message}", finding.hint
            )
        self.report.side_effects.extend(f"SQL: {effect}" for effect in report.side_effects)


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in node.keywords if k.arg == name), None)


def _is_string_building(node: ast.AST) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"


def _calls_with_guard(node: ast.AST, *, guarded: bool) -> Iterator[tuple[ast.Call, bool]]:
    """Every call below ``node`` and whether an ``if`` (or comprehension filter) encloses it."""
    stack: list[tuple[ast.AST, bool]] = [(node, guarded)]
    while stack:
        current, inside_if = stack.pop()
        if isinstance(current, ast.Call):
            yield current, inside_if
        now_guarded = inside_if or isinstance(current, ast.If | ast.IfExp | ast.Try)
        stack.extend((child, now_guarded) for child in ast.iter_child_nodes(current))


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, int | None, str]] = set()
    out = []
    for finding in findings:
        key = (finding.rule_id, finding.line, finding.message)
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return out


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


__all__ = ["validate", "versions"]
