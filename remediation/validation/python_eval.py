"""Static resolution for the Python validator: import aliases, constant strings and path prefixes.

Rules keyed on names (``os.system``) are beaten by ``from os import system as s``,
``getattr(os, 'sys' + 'tem')``, ``__import__('os')`` or ``exec(base64.b64decode(...))``. The
:class:`Resolver` undoes those statically: it maps every local name to the qualified name it stands
for and folds constant expressions (concatenation, f-strings, ``"".join``, ``chr``, slicing,
base64/hex/rot13/zlib decoding) without running anything. Names assigned more than once with
different values are treated as unknown.
"""

from __future__ import annotations

import ast
import base64
import binascii
import codecs
import ctypes
import marshal
import os
import pickle
import posixpath
import pty
import shutil
import socket
import subprocess
import zlib
from dataclasses import dataclass
from typing import Any

#: Stands for a value the script does not show statically.
UNKNOWN: Any = type("Unknown", (), {"__repr__": lambda self: "UNKNOWN"})()
#: Folded strings longer than this are abandoned (``"a" * 10**12`` must not be built).
MAX_FOLDED_LENGTH = 1_000_000
_MAX_DEPTH = 40

_MODULE_ALIASES = {"posix": "os", "nt": "os", "__builtin__": "builtins", "cPickle": "pickle", "_pickle": "pickle"}
#: Public names of the modules whose star import matters (read from the stdlib itself, never from the script).
_STAR_EXPORTS: dict[str, frozenset[str]] = {
    module.__name__: frozenset(name for name in dir(module) if not name.startswith("_"))
    for module in (os, shutil, subprocess, pty, socket, pickle, marshal, ctypes)
}
#: Modules whose objects keep their origin when assigned to a name (rules look at later method calls on them).
_TRACKED_CONSTRUCTORS = frozenset({"ctypes", "socket", "requests", "httpx", "urllib3", "smtplib", "aiohttp", "ftplib"})
#: Calls whose result is the decoded form of their argument: their presence marks obfuscation.
DECODERS = frozenset(
    {"base64.b64decode", "base64.b32decode", "base64.b16decode", "base64.urlsafe_b64decode", "base64.decodebytes",
     "base64.a85decode", "base64.b85decode", "codecs.decode", "zlib.decompress", "gzip.decompress", "bz2.decompress",
     "lzma.decompress", "binascii.unhexlify", "binascii.a2b_hex", "binascii.a2b_base64", "bytes.fromhex", "chr",
     "marshal.loads"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PathInfo:
    """A filesystem path as far as it is known: ``prefix`` is exact, or the start of a longer path."""

    prefix: str
    exact: bool
    #: where an inexact path came from ("walk" for os.walk roots), for rule naming
    source: str = ""

    @property
    def known_dir(self) -> str:
        """The deepest directory the path is certainly inside (or the path itself when exact)."""
        if self.exact:
            return self.prefix
        if "/" not in self.prefix:
            return ""
        return self.prefix.rsplit("/", 1)[0] or "/"


class Resolver:
    def __init__(self, tree: ast.AST) -> None:
        self.aliases: dict[str, str] = {}
        self.constants: dict[str, Any] = {}
        #: names bound by loops over directory listings: full paths (PathInfo) or bare entry names (str dir)
        self.path_bindings: dict[str, PathInfo] = {}
        self.entry_names: dict[str, PathInfo] = {}
        #: the one expression a name is assigned (names assigned more than once are absent)
        self.expressions: dict[str, ast.expr] = {}
        #: modules imported with "from M import *": their public names become bare names
        self.star_modules: list[str] = []
        self._collect(tree)

    # -- pre-pass -------------------------------------------------------------------------------------------------

    def _collect(self, tree: ast.AST) -> None:
        values: dict[str, list[ast.expr]] = {}
        functions: dict[str, ast.arguments] = {}
        calls: dict[str, list[ast.Call]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    module = _MODULE_ALIASES.get(alias.name, alias.name)
                    if alias.asname:
                        self.aliases[alias.asname] = module
                    else:
                        top = alias.name.split(".")[0]
                        self.aliases.setdefault(top, _MODULE_ALIASES.get(top, top))
            elif isinstance(node, ast.ImportFrom) and node.module:
                module = _MODULE_ALIASES.get(node.module, node.module)
                for alias in node.names:
                    if alias.name == "*":
                        self.star_modules.append(module)
                    else:
                        self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                values.setdefault(node.targets[0].id, []).append(node.value)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                values.setdefault(node.target.id, []).append(node.value)
            elif isinstance(node, ast.arg):
                values.setdefault(node.arg, []).append(ast.Constant(value=UNKNOWN))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions[node.name] = node.args
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                calls.setdefault(node.func.id, []).append(node)
            elif isinstance(node, ast.AugAssign | ast.For | ast.comprehension | ast.withitem | ast.NamedExpr):
                target = getattr(node, "target", None) or getattr(node, "optional_vars", None)
                for name in _target_names(target):
                    values.setdefault(name, []).append(ast.Constant(value=UNKNOWN))
        _bind_parameters(values, functions, calls)
        # Two rounds so that constants built from other constants resolve regardless of order.
        for _ in range(2):
            for name, exprs in values.items():
                if len(exprs) != 1:
                    self.constants.pop(name, None)
                    continue
                expr = exprs[0]
                self.expressions[name] = expr
                qualified = self._alias_of(expr)
                if qualified:
                    self.aliases[name] = qualified
                    continue
                value = self.value(expr)
                if value is not UNKNOWN:
                    self.constants[name] = value

    def _alias_of(self, expr: ast.expr) -> str | None:
        """Qualified name when ``expr`` is a module/function reference (``f = os.system``, ``o = __import__('os')``)."""
        if isinstance(expr, ast.Name | ast.Attribute | ast.Subscript):
            name = self.qualname(expr)
            if (name and "." in name) or name in {"os", "subprocess", "shutil", "builtins", "eval", "exec", "pty"}:
                return name
            return None
        if isinstance(expr, ast.Call):
            name = self.qualname(expr)
            if name and not name.endswith("()"):
                return name  # __import__('os'), getattr(os, 'system'), importlib.import_module('os')
            if name and name.split(".")[0] in _TRACKED_CONSTRUCTORS:
                return name  # libc = ctypes.CDLL(...), s = socket.socket(), session = requests.Session()
        return None

    # -- names ----------------------------------------------------------------------------------------------------

    def qualname(self, node: ast.AST | None, depth: int = 0) -> str | None:
        """Dotted name a call target stands for (``sp.run`` -> ``subprocess.run``), or None."""
        if node is None or depth > _MAX_DEPTH:
            return None
        if isinstance(node, ast.Name):
            if node.id not in self.aliases and self.star_modules:
                for module in self.star_modules:
                    if node.id in _STAR_EXPORTS.get(module, frozenset()):
                        return f"{module}.{node.id}"
            return _normalise(self.aliases.get(node.id, node.id))
        if isinstance(node, ast.Attribute):
            base = self.qualname(node.value, depth + 1)
            return _normalise(f"{base}.{node.attr}") if base else None
        if isinstance(node, ast.Call):
            func = self.qualname(node.func, depth + 1)
            if func in {"getattr", "builtins.getattr"} and len(node.args) >= 2:
                base = self.qualname(node.args[0], depth + 1)
                attr = self.value(node.args[1], depth + 1)
                if base and isinstance(attr, str):
                    return _normalise(f"{base}.{attr}")
                return f"{base}.<dynamic>" if base else None
            if func in {"__import__", "importlib.import_module", "importlib.__import__"} and node.args:
                module = self.value(node.args[0], depth + 1)
                return _normalise(module) if isinstance(module, str) else "<dynamic-module>"
            if func in {"globals", "vars", "locals"} and not node.args:
                return "globals()"
            if func == "vars" and node.args:
                base = self.qualname(node.args[0], depth + 1)
                return f"{base}.__dict__" if base else None
            return f"{func}()" if func else None
        if isinstance(node, ast.Subscript):
            base = self.qualname(node.value, depth + 1)
            key = self.value(node.slice, depth + 1)
            if not isinstance(key, str) or not base:
                return None
            if base == "sys.modules":
                return _normalise(key)
            if base in {"globals()", "builtins.__dict__", "__builtins__"} and key == "__builtins__":
                return "builtins"
            if base.endswith(".__dict__"):
                return _normalise(f"{base.removesuffix('.__dict__')}.{key}")
            if base in {"globals()", "__builtins__", "builtins"}:
                return _normalise(key if base == "globals()" else f"builtins.{key}")
        return None

    # -- values ---------------------------------------------------------------------------------------------------

    def value(self, node: ast.AST | None, depth: int = 0) -> Any:
        """The constant value of ``node`` (str, bytes, int, list, ...), or UNKNOWN."""
        if node is None or depth > _MAX_DEPTH:
            return UNKNOWN
        try:
            result = self._value(node, depth)
        except (ValueError, TypeError, OverflowError, IndexError, KeyError, binascii.Error, zlib.error, MemoryError):
            return UNKNOWN
        if isinstance(result, str | bytes) and len(result) > MAX_FOLDED_LENGTH:
            return UNKNOWN
        return result

    def _value(self, node: ast.AST, depth: int) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.constants.get(node.id, UNKNOWN)
        if isinstance(node, ast.JoinedStr):
            parts = []
            for part in node.values:
                inner = self.value(part.value if isinstance(part, ast.FormattedValue) else part, depth + 1)
                if inner is UNKNOWN:
                    return UNKNOWN
                parts.append(str(inner))
            return "".join(parts)
        if isinstance(node, ast.List | ast.Tuple):
            items = [self.value(e, depth + 1) for e in node.elts]
            return UNKNOWN if any(i is UNKNOWN for i in items) else items
        if isinstance(node, ast.BinOp):
            return self._binop(node, depth)
        if isinstance(node, ast.UnaryOp):
            operand = self.value(node.operand, depth + 1)
            if isinstance(operand, int | float) and not isinstance(operand, bool):
                if isinstance(node.op, ast.USub):
                    return -operand
                if isinstance(node.op, ast.UAdd):
                    return operand
            if isinstance(node.op, ast.Not) and operand is not UNKNOWN:
                return not operand
            return UNKNOWN
        if isinstance(node, ast.Subscript):
            base = self.value(node.value, depth + 1)
            if isinstance(base, str | bytes | list) and isinstance(node.slice, ast.Slice):
                bounds = [self.value(b, depth + 1) if b is not None else None for b in
                          (node.slice.lower, node.slice.upper, node.slice.step)]  # fmt: skip
                if any(b is UNKNOWN for b in bounds):
                    return UNKNOWN
                return base[slice(*bounds)]
            index = self.value(node.slice, depth + 1)
            if isinstance(base, str | bytes | list) and isinstance(index, int):
                return base[index]
            return UNKNOWN
        if isinstance(node, ast.Call):
            return self._call_value(node, depth)
        return UNKNOWN

    def _binop(self, node: ast.BinOp, depth: int) -> Any:
        left, right = self.value(node.left, depth + 1), self.value(node.right, depth + 1)
        if left is UNKNOWN or right is UNKNOWN:
            return UNKNOWN
        if isinstance(node.op, ast.Add) and type(left) is type(right):
            return left + right
        if isinstance(node.op, ast.Mult):
            size = len(left) * right if isinstance(left, str | bytes) and isinstance(right, int) else 0
            if size > MAX_FOLDED_LENGTH:
                return UNKNOWN
            return left * right
        if isinstance(node.op, ast.Mod) and isinstance(left, str):
            return left % (tuple(right) if isinstance(right, list) else right)
        if isinstance(node.op, ast.Pow) and isinstance(left, int) and isinstance(right, int) and right < 64:
            return left**right
        return UNKNOWN

    def _call_value(self, node: ast.Call, depth: int) -> Any:
        func = node.func
        args = [self.value(a, depth + 1) for a in node.args]
        if any(a is UNKNOWN for a in args):
            return UNKNOWN
        if isinstance(func, ast.Attribute):
            receiver = self.value(func.value, depth + 1)
            if receiver is not UNKNOWN and isinstance(receiver, str | bytes):
                return _str_method(receiver, func.attr, args)
        name = self.qualname(func, depth + 1)
        if name == "chr" and args:
            return chr(args[0])
        if name in {"str", "bytes"} and args:
            if name == "bytes" and isinstance(args[0], list):
                return bytes(args[0])
            return args[0] if name == "str" and isinstance(args[0], str) else UNKNOWN
        if name in {"os.path.join", "posixpath.join"} and args and all(isinstance(a, str) for a in args):
            return posixpath.join(*args)
        if name in {"os.path.expanduser", "os.path.abspath", "os.path.normpath", "os.path.realpath", "str"} and args:
            return args[0]
        if name in {"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath"}:
            return posixpath.join(*args) if args and all(isinstance(a, str) for a in args) else UNKNOWN
        return _decode(name, args)

    def path(self, node: ast.AST | None, depth: int = 0) -> PathInfo | None:
        """What is known of a path expression; None when nothing is (a computed path)."""
        if node is None or depth > _MAX_DEPTH:
            return None
        value = self.value(node)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str):
            return PathInfo(value, exact=True)
        if isinstance(node, ast.Name):
            if node.id in self.path_bindings:
                return self.path_bindings[node.id]
            expr = self.expressions.get(node.id)
            return self.path(expr, depth + 1) if expr is not None else None
        if isinstance(node, ast.Attribute) and node.attr in {"path"} and isinstance(node.value, ast.Name):
            entry = self.entry_names.get(node.value.id)
            return PathInfo(entry.prefix.rstrip("/") + "/", exact=False, source=entry.source) if entry else None
        if isinstance(node, ast.JoinedStr):
            return self._prefix_of_parts(node.values, depth)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Div):
            left = self.path(node.left, depth + 1)
            if left is None or not left.exact:
                return left
            separator = "/" if isinstance(node.op, ast.Div) else ""
            right = self.path(node.right, depth + 1)
            if right is not None and right.exact:
                return PathInfo(
                    left.prefix.rstrip("/") + separator + right.prefix if separator else left.prefix + right.prefix,
                    True,
                )
            return PathInfo(left.prefix.rstrip("/") + separator if separator else left.prefix, False, left.source)
        if isinstance(node, ast.Call):
            name = self.qualname(node.func)
            if name in {"os.path.join", "posixpath.join"} and node.args:
                return self._join(node.args, depth)
            if name == "tempfile.mkdtemp":
                # A fresh private directory under the temp root: its own name, never /tmp itself.
                return PathInfo("/tmp/mkdtemp-XXXXXX", exact=True)
            if name == "tempfile.gettempdir":
                return PathInfo("/tmp", exact=True)
            if name in {"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "str", "os.path.expanduser",
                        "os.path.abspath", "os.path.realpath", "os.path.normpath", "os.fspath"} and node.args:  # fmt: skip
                return self._join(node.args, depth) if len(node.args) > 1 else self.path(node.args[0], depth + 1)
            if isinstance(node.func, ast.Attribute) and node.func.attr in {"joinpath", "with_suffix", "resolve",
                                                                           "expanduser", "absolute"}:  # fmt: skip
                base = self.path(node.func.value, depth + 1)
                if node.func.attr == "joinpath" and base is not None and base.exact:
                    return self._join([ast.Constant(base.prefix), *node.args], depth)
                return base if base is None or node.func.attr != "with_suffix" else PathInfo(base.prefix, False)
        return None

    def _join(self, parts: list[ast.expr], depth: int) -> PathInfo | None:
        prefix = ""
        for index, part in enumerate(parts):
            info = self.path(part, depth + 1)
            if info is None:
                if index == 0:
                    return None
                return PathInfo(prefix.rstrip("/") + "/", exact=False)
            prefix = posixpath.join(prefix, info.prefix) if prefix else info.prefix
            if not info.exact:
                return PathInfo(prefix, exact=False, source=info.source)
        return PathInfo(prefix, exact=True)

    def _prefix_of_parts(self, parts: list[ast.expr], depth: int) -> PathInfo | None:
        prefix = ""
        for part in parts:
            inner = part.value if isinstance(part, ast.FormattedValue) else part
            value = self.value(inner, depth + 1)
            if value is UNKNOWN:
                info = self.path(inner, depth + 1)
                if info is not None:
                    return PathInfo(prefix + info.prefix, exact=False, source=info.source)
                return PathInfo(prefix, exact=False) if prefix else None
            prefix += str(value)
        return PathInfo(prefix, exact=True)

    def contains_decoder(self, node: ast.AST) -> bool:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call):
                name = self.qualname(sub.func) or ""
                attr = sub.func.attr if isinstance(sub.func, ast.Attribute) else ""
                if name in DECODERS or (attr in {"decode", "decompress", "fromhex", "b64decode"} and name != ""):
                    return True
                if attr == "decode" or name.endswith(".decode"):
                    return True
        return False


def _bind_parameters(
    values: dict[str, list[ast.expr]], functions: dict[str, ast.arguments], calls: dict[str, list[ast.Call]]
) -> None:
    """A parameter every call site passes the same expression to (or its default) stands for that expression.

    ``def clean(path): shutil.rmtree(path)`` then ``clean('/opt/app/tmp')`` is judged on the literal;
    two call sites with different arguments leave the parameter unknown (flagged as computed).
    """
    for name, arguments in functions.items():
        sites = calls.get(name, [])
        positional = [*arguments.posonlyargs, *arguments.args]
        defaults = dict(zip([a.arg for a in positional][::-1], arguments.defaults[::-1], strict=False))
        for index, parameter in enumerate(positional):
            if len(values.get(parameter.arg, ())) != 1 or not sites:
                continue
            candidates: list[ast.expr] = []
            for call in sites:
                if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
                    candidates = []
                    break
                keyword = next((k.value for k in call.keywords if k.arg == parameter.arg), None)
                passed = call.args[index] if index < len(call.args) else keyword or defaults.get(parameter.arg)
                if passed is None:
                    candidates = []
                    break
                candidates.append(passed)
            if candidates and len({ast.dump(c) for c in candidates}) == 1:
                values[parameter.arg] = [candidates[0]]


def _target_names(target: ast.AST | None) -> list[str]:
    if target is None:
        return []
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]


def _normalise(name: str) -> str:
    head, _, rest = name.partition(".")
    head = _MODULE_ALIASES.get(head, head)
    name = f"{head}.{rest}" if rest else head
    if name.startswith("builtins."):
        return name.removeprefix("builtins.")
    return name


def _str_method(receiver: str | bytes, method: str, args: list[Any]) -> Any:
    if method == "join" and isinstance(receiver, str) and args and isinstance(args[0], list):
        return receiver.join(str(a) for a in args[0])
    if method == "decode" and isinstance(receiver, bytes):
        encoding = next((a for a in args if isinstance(a, str)), "utf-8")
        return receiver.decode(encoding, "replace")
    if method == "encode" and isinstance(receiver, str):
        return receiver.encode()
    if method in {"upper", "lower", "strip", "lstrip", "rstrip", "title", "swapcase"} and not args:
        return getattr(receiver, method)()
    if method == "replace" and len(args) == 2 and all(type(a) is type(receiver) for a in args):
        return receiver.replace(args[0], args[1])
    if method == "format" and isinstance(receiver, str):
        return receiver.format(*args)
    return UNKNOWN


def _decode(name: str | None, args: list[Any]) -> Any:
    if not args or name not in DECODERS:
        return UNKNOWN
    data = args[0]
    if name.startswith("base64."):
        raw = data.encode() if isinstance(data, str) else data
        decoder = getattr(base64, name.split(".", 1)[1])
        return decoder(raw)
    if name == "codecs.decode":
        encoding = str(args[1]).lower() if len(args) > 1 else "utf-8"
        if encoding in {"rot13", "rot_13", "rot-13"} and isinstance(data, str):
            return codecs.decode(data, "rot13")
        if encoding in {"base64", "hex", "zlib", "bz2"}:
            return codecs.decode(data.encode() if isinstance(data, str) else data, encoding)
        return data.decode(encoding) if isinstance(data, bytes) else UNKNOWN
    if name in {"zlib.decompress", "gzip.decompress", "bz2.decompress", "lzma.decompress"} and isinstance(data, bytes):
        module = {"zlib": zlib}.get(name.split(".")[0])
        if module is None:
            return UNKNOWN
        decompressor = zlib.decompressobj()
        out = decompressor.decompress(data, MAX_FOLDED_LENGTH)
        return out if not decompressor.unconsumed_tail else UNKNOWN
    if name in {"binascii.unhexlify", "binascii.a2b_hex", "bytes.fromhex"}:
        return bytes.fromhex(data if isinstance(data, str) else data.decode())
    if name == "binascii.a2b_base64":
        return binascii.a2b_base64(data)
    return UNKNOWN
