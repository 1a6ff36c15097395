"""Access scope of a Python script: the files it writes and the hosts it calls, against the service's lists.

With ``ValidationContext.allowed_paths`` set, every path a call writes, deletes, moves, chmods/chowns
or truncates (``open(..., "w")``, ``os.remove``, ``shutil.rmtree``, ``shutil.copy``/``move``
destinations, ``os.rename``/``replace``, ``Path.write_text``/``unlink``/``chmod`` ...) must lie under
one of them (``/tmp`` and ``tempfile.mkdtemp()`` directories always may): else ``scope.path``. With
``allowed_hosts`` set, every URL given to requests/httpx/urllib/urllib3 and every host given to
``http.client``, ``socket.create_connection``/``connect``, smtplib or ftplib must be listed or
loopback: else ``scope.host``. A path or URL the script only computes at run time fires the same
rule (fail closed); an f-string whose literal head fixes the directory or the host is judged by it.

The comparison itself (normalisation, ``..``, /tmp, ``host_allowed``) is shared with the bash
validator (:mod:`remediation.validation.bash_scope`, whose helpers need no tree-sitter), so a command
line the script starts and a Python call are judged alike. Commands started through subprocess are
checked by the bash validator with the same context (see :mod:`remediation.validation.python_argv`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator

from remediation.validation.bash_scope import TouchedPath, host_in_scope, path_in_scope, resolve_path, url_host
from remediation.validation.python_eval import UNKNOWN, PathInfo, Resolver
from remediation.validation.types import Severity, ValidationContext

PATH_HINT = "Touch only files under the service's allowed paths, spelled as literal absolute paths."
HOST_HINT = "Call only the hosts the service may reach, or add the host to its allowed hosts."

_OPEN_CALLS = frozenset({"open", "io.open", "codecs.open", "builtins.open"})
#: call -> (index of the path argument, its keyword, what the call does to it)
_PATH_CALLS: dict[str, tuple[int, str, str]] = {
    "os.remove": (0, "path", "deletes"),
    "os.unlink": (0, "path", "deletes"),
    "os.rmdir": (0, "path", "deletes"),
    "os.removedirs": (0, "name", "deletes"),
    "shutil.rmtree": (0, "path", "recursively deletes"),
    "os.truncate": (0, "path", "truncates"),
    "os.mknod": (0, "path", "creates"),
    "os.mkdir": (0, "path", "creates"),
    "os.makedirs": (0, "name", "creates"),
    "os.chmod": (0, "path", "chmods"),
    "os.lchmod": (0, "path", "chmods"),
    "os.chown": (0, "path", "chowns"),
    "os.lchown": (0, "path", "chowns"),
    "shutil.chown": (0, "path", "chowns"),
    "shutil.copy": (1, "dst", "copies into"),
    "shutil.copy2": (1, "dst", "copies into"),
    "shutil.copyfile": (1, "dst", "copies into"),
    "shutil.copytree": (1, "dst", "copies into"),
    "shutil.move": (1, "dst", "moves into"),
    "os.rename": (1, "dst", "moves into"),
    "os.renames": (1, "new", "moves into"),
    "os.replace": (1, "dst", "moves into"),
    "os.symlink": (1, "dst", "links"),
    "os.link": (1, "dst", "links"),
    "urllib.request.urlretrieve": (1, "filename", "downloads into"),
}
#: Moving a file away from its place changes that place too.
_MOVE_SOURCES = frozenset({"shutil.move", "os.rename", "os.renames", "os.replace"})
#: Path methods -> what they do to the receiver path.
_PATH_METHODS = {
    "write_text": "writes",
    "write_bytes": "writes",
    "unlink": "deletes",
    "rmdir": "deletes",
    "touch": "creates",
    "mkdir": "creates",
    "chmod": "chmods",
    "lchmod": "chmods",
    "symlink_to": "links",
    "hardlink_to": "links",
    "rename": "moves away",
    "replace": "moves away",
}
_PATH_CONSTRUCTORS = frozenset({"pathlib.Path", "pathlib.PosixPath", "pathlib.PurePath", "pathlib.PurePosixPath"})
_HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "stream", "send"})
_HTTP_MODULES = frozenset({"requests", "httpx", "aiohttp", "urllib3"})
_URL_CALLS = frozenset(
    {"urllib.request.urlopen", "urllib.request.Request", "urllib.request.urlretrieve", "urllib.urlopen",
     "urllib.urlretrieve", "wget.download"}
)  # fmt: skip
_HOST_CALLS = frozenset(
    {"http.client.HTTPConnection", "http.client.HTTPSConnection", "smtplib.SMTP", "smtplib.SMTP_SSL", "ftplib.FTP",
     "ftplib.FTP_TLS", "telnetlib.Telnet", "poplib.POP3", "imaplib.IMAP4", "imaplib.IMAP4_SSL"}
)  # fmt: skip
_SOCKET_CALLS = frozenset({"socket.create_connection"})
#: A URL prefix whose host is complete (followed by a path, port, query or fragment).
_HOST_TERMINATED = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^/:?#]+)[/:?#]")

Report = Callable[[str, Severity, ast.AST, str, str], None]


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in node.keywords if k.arg == name), None)


def _argument(node: ast.Call, index: int, keyword: str) -> ast.expr | None:
    if len(node.args) > index and not isinstance(node.args[index], ast.Starred):
        return node.args[index]
    return _keyword(node, keyword)


class PythonScope:
    """Checks one call against the allow-lists; built only when one of them is set."""

    def __init__(self, resolver: Resolver, context: ValidationContext, report: Report) -> None:
        self.resolver = resolver
        self.context = context
        self.report = report

    def check(self, node: ast.Call, name: str, method: str) -> None:
        if self.context.allowed_paths:
            for target, verb in self._touched(node, name, method):
                self._path(node, target, verb, name or f"Path.{method}")
        if self.context.allowed_hosts:
            for host_node, kind in self._connections(node, name, method):
                self._host(node, host_node, kind, name or method)

    # -- paths ----------------------------------------------------------------------------------
    def _touched(self, node: ast.Call, name: str, method: str) -> Iterator[tuple[ast.expr, str]]:
        if name in _OPEN_CALLS and node.args:
            mode_node = node.args[1] if len(node.args) > 1 else _keyword(node, "mode")
            mode = self.resolver.value(mode_node) if mode_node is not None else "r"
            if mode is UNKNOWN or (isinstance(mode, str) and any(c in mode for c in "wax+")):
                yield node.args[0], "writes" if mode is not UNKNOWN else "opens (mode known only at run time)"
            return
        if name == "os.open" and node.args and len(node.args) > 1:
            flags = {sub.attr for sub in ast.walk(node.args[1]) if isinstance(sub, ast.Attribute)}
            if flags & {"O_WRONLY", "O_RDWR", "O_APPEND", "O_TRUNC", "O_CREAT"}:
                yield node.args[0], "writes"
            return
        spec = _PATH_CALLS.get(name)
        if spec is not None:
            target = _argument(node, spec[0], spec[1])
            if target is not None:
                yield target, spec[2]
            if name in _MOVE_SOURCES:
                source = _argument(node, 0, "src")
                if source is not None:
                    yield source, "moves away"
            return
        if not isinstance(node.func, ast.Attribute) or name.startswith(("os.", "shutil.")):
            return
        receiver = node.func.value
        if not self._is_path(receiver):
            return
        if method in _PATH_METHODS:
            yield receiver, _PATH_METHODS[method]
            if method in ("rename", "replace"):
                destination = _argument(node, 0, "target")
                if destination is not None:
                    yield destination, "moves into"
        elif method == "open":
            mode_node = node.args[0] if node.args else _keyword(node, "mode")
            mode = self.resolver.value(mode_node) if mode_node is not None else "r"
            if mode is UNKNOWN or (isinstance(mode, str) and any(c in mode for c in "wax+")):
                yield receiver, "writes"

    def _is_path(self, node: ast.expr) -> bool:
        """A pathlib object: built by Path(...) here, or a name assigned one (a str has no write_text)."""
        if isinstance(node, ast.Call):
            return (self.resolver.qualname(node.func) or "") in _PATH_CONSTRUCTORS
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            return self._is_path(node.left)
        if isinstance(node, ast.Name):
            expression = self.resolver.expressions.get(node.id)
            return expression is not None and self._is_path(expression)
        return False

    def _path(self, node: ast.Call, target: ast.expr, verb: str, label: str) -> None:
        info = self.resolver.path(target)
        touched = _touched_path(info)
        if path_in_scope(touched, self.context.allowed_paths):
            return
        allowed = ", ".join(self.context.allowed_paths)
        if touched.path is None:
            shown = info.prefix if info is not None else ast.unparse(target)[:60]
            relative = info is not None and info.exact and not info.prefix.startswith(("/", "~"))
            why = "a relative path (the working directory is not known)" if relative else "known only at run time"
            message = f"{label} {verb} {shown!r}, {why}: it cannot be shown to stay inside {allowed}."
        else:
            where = touched.path if touched.exact else f"somewhere under {touched.path}"
            message = f"{label} {verb} {where!r}, outside the allowed paths ({allowed})."
        self.report("scope.path", Severity.MEDIUM, node, message, PATH_HINT)

    # -- hosts ----------------------------------------------------------------------------------
    def _connections(self, node: ast.Call, name: str, method: str) -> Iterator[tuple[ast.expr | None, str]]:
        root = name.split(".")[0]
        if name in _URL_CALLS:
            argument = _argument(node, 0, "url")
            if argument is not None and not self._is_request_object(argument):
                yield argument, "url"
            return
        if name in _HOST_CALLS:
            yield _argument(node, 0, "host"), "host"
            return
        if name in _SOCKET_CALLS or (name.startswith("socket.") and method in ("connect", "connect_ex")):
            address = _argument(node, 0, "address")
            if isinstance(address, ast.Tuple) and address.elts:
                yield address.elts[0], "host"
            elif address is not None:
                yield address, "address"
            return
        if method not in _HTTP_METHODS:
            return
        index = 1 if method in ("request", "stream") or (root == "urllib3" and method == "request") else 0
        argument = _argument(node, index, "url")
        if argument is None:
            return
        literal = self.resolver.value(argument)
        if root in _HTTP_MODULES or (isinstance(literal, str) and re.match(r"(?i)^https?://", literal)):
            yield argument, "url"

    def _is_request_object(self, node: ast.expr) -> bool:
        """urlopen(Request(url)): the Request call is checked on its own."""
        if isinstance(node, ast.Name):
            node = self.resolver.expressions.get(node.id, node)
        return isinstance(node, ast.Call) and (self.resolver.qualname(node.func) or "").endswith("Request")

    def _host(self, node: ast.Call, target: ast.expr | None, kind: str, label: str) -> None:
        host = self._host_of(target, kind)
        if host_in_scope(host, self.context.allowed_hosts):
            return
        allowed = ", ".join(self.context.allowed_hosts)
        if host is None:
            shown = ast.unparse(target)[:60] if target is not None else "?"
            message = f"{label} connects to {shown}, a host known only at run time (allowed: {allowed})."
        else:
            message = f"{label} connects to {host[:80]}, which is not among the allowed hosts ({allowed})."
        self.report("scope.host", Severity.MEDIUM, node, message, HOST_HINT)

    def _host_of(self, target: ast.expr | None, kind: str) -> str | None:
        if target is None:
            return None
        value = self.resolver.value(target)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if kind != "url":
            return value if isinstance(value, str) and value else None
        if isinstance(value, str):
            return url_host(value) or value  # not a URL at all: judged as written (never allowed)
        info = self.resolver.path(target)  # an f-string or concatenation with a literal head
        if info is not None and _HOST_TERMINATED.match(info.prefix):
            return url_host(info.prefix)
        return None


def _touched_path(info: PathInfo | None) -> TouchedPath:
    if info is None:
        return TouchedPath(None)
    if info.exact:
        return resolve_path(info.prefix)
    directory = info.known_dir
    if not directory or not directory.startswith(("/", "~")) or ".." in info.prefix[len(directory) :]:
        return TouchedPath(None)
    resolved = resolve_path(directory)
    return TouchedPath(resolved.path, exact=False)


__all__ = ["HOST_HINT", "PATH_HINT", "PythonScope"]
