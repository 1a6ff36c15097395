"""Access scope of a bash script: the files, hosts, namespaces and databases it touches, against the service's lists.

:class:`~remediation.validation.types.ValidationContext` carries ``allowed_paths``, ``allowed_hosts``,
``allowed_namespaces`` and ``allowed_databases``; a list left empty means "no restriction known" and
its rule stays silent. With a list set, every place where the script writes, deletes, moves,
chmods/chowns or truncates a path, connects to a host, names a Kubernetes namespace or a PostgreSQL
database is compared with it:

* ``scope.path`` (medium): a written path outside every allowed root. Paths are normalised the way
  the kernel resolves a literal (``/opt/app/../../etc`` is ``/etc``); ``/tmp`` (which also holds the
  script's own ``mktemp`` files) is always allowed; ``/dev/null`` and the standard streams are not
  files.
* ``scope.host`` (medium): a host outside ``allowed_hosts`` (matched with
  :func:`remediation.validation.common.host_allowed`); loopback is always allowed.
* ``scope.namespace`` (high, the id the Kubernetes validator uses) and ``scope.namespace_unset``
  (medium): ``kubectl``/``helm`` namespaces.
* ``scope.database`` (medium): ``psql -d``, conninfo ``dbname=`` and URI databases.

A path, host, namespace or database that is only known at run time (a variable set outside the
script, a command substitution) in one of these positions fires the same rule: it cannot be shown
to stay inside the lists (fail closed). A path whose directory is literal (``/var/log/app/$name``)
is judged by that directory.

The first half of this module is pure (no tree-sitter at run time) so the Python validator shares
:func:`path_in_scope` and :func:`host_in_scope`.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote

from remediation.validation.common import host_allowed
from remediation.validation.types import ValidationContext

if TYPE_CHECKING:  # the walker imports tree-sitter; the pure helpers below must not need it
    from remediation.validation.bash_walk import Command, Redirect
    from remediation.validation.bash_words import Word

#: The bash word evaluator's and the Python resolver's marker for a part known only at run time.
DYNAMIC = "\ufffd"
_SPLIT = "\x01"
_GLOB = "*?["

#: Always writable: the shared temporary directory, where ``mktemp`` puts the script's own files.
ALWAYS_ALLOWED_ROOTS = ("/tmp",)
#: Redirect targets that are not files.
NOT_FILES = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty", "/dev/zero", "-"})
_NOT_FILE_PREFIXES = ("/dev/fd/", "/proc/self/fd/")


def scope_lists_set(context: ValidationContext) -> bool:
    return bool(
        context.allowed_paths or context.allowed_hosts or context.allowed_namespaces or context.allowed_databases
    )


# ---------------------------------------------------------------------------------------------
# Paths


@dataclass(frozen=True, slots=True)
class TouchedPath:
    """What is known of a path: ``path`` exactly, or only the directory it is inside; None when nothing is."""

    path: str | None
    exact: bool = True


def _normalise(path: str) -> str:
    if path.startswith("~"):
        head, sep, rest = path.partition("/")
        return head + (posixpath.normpath("/" + rest) if sep and rest else "")
    normalised = posixpath.normpath(path)
    return "/" + normalised.lstrip("/") if normalised.startswith("/") else normalised


def resolve_path(text: str, cwd: str | None = None) -> TouchedPath:
    """Resolve a path word as far as the script shows it.

    ``cwd`` is the working directory when the script set it to a literal with ``cd``; a relative path
    without one is unknown (the runner's working directory is not the script's to assume).
    """
    text = text.replace(_SPLIT, " ").strip()
    if not text:
        return TouchedPath(None)
    if not text.startswith(("/", "~")) and not text.startswith(DYNAMIC):
        if cwd is None or not cwd.startswith("/"):
            return TouchedPath(None)
        text = cwd.rstrip("/") + "/" + text
    cut = min((i for i in (text.find(ch) for ch in (DYNAMIC, *_GLOB)) if i >= 0), default=-1)
    if cut < 0:
        return TouchedPath(_normalise(text))
    if ".." in text[cut:]:
        return TouchedPath(None)  # "/opt/app/$x/../../etc": the literal directory does not bound it
    literal = text[:cut]
    directory = literal[: literal.rfind("/") + 1] if "/" in literal else ""
    return TouchedPath(_normalise(directory), exact=False) if directory else TouchedPath(None)


def _within(path: str, root: str) -> bool:
    if any(ch in root for ch in _GLOB):
        return fnmatch.fnmatchcase(path, root) or fnmatch.fnmatchcase(path, root.rstrip("/") + "/*")
    root = _normalise(root.strip()) if root.strip() else ""
    if not root:
        return False
    if root == "/":
        return path.startswith("/")
    return path == root or path.startswith(root + "/")


def is_not_a_file(path: str) -> bool:
    return path in NOT_FILES or path.startswith(_NOT_FILE_PREFIXES)


def path_in_scope(touched: TouchedPath, allowed_paths: Iterable[str]) -> bool:
    """Whether ``touched`` certainly stays inside one of ``allowed_paths`` (or /tmp)."""
    if touched.path is None:
        return False
    if touched.exact and is_not_a_file(touched.path):
        return True
    roots = (*ALWAYS_ALLOWED_ROOTS, *allowed_paths)
    return any(_within(touched.path, root) for root in roots)


# ---------------------------------------------------------------------------------------------
# Hosts


def is_loopback(host: str) -> bool:
    host = host.lower().strip("[]").rstrip(".")
    if host in ("localhost", "localhost.localdomain", "ip6-localhost") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_in_scope(host: str | None, allowed_hosts: tuple[str, ...]) -> bool:
    """``host`` (None or containing the run-time marker: unknown) is loopback or listed."""
    if host is None or DYNAMIC in host or not host.strip():
        return False
    host = host.strip().lower()
    return is_loopback(host) or host_allowed(host, allowed_hosts)


_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://(?:[^@/?#]*@)?(\[[^\]]*\]|[^/:?#]*)")
_BARE_HOST = re.compile(r"^(?:[^@/?#:]*@)?(\[[^\]]*\]|[^/:?#@]*)")


def url_host(text: str, *, bare: bool = False) -> str | None:
    """Host of a URL (``bare``: also of a scheme-less ``host:port/path``); None when not known."""
    text = text.replace(_SPLIT, " ").strip()
    match = _URL.match(text)
    if match is None and bare and not text.startswith(DYNAMIC):
        match = _BARE_HOST.match(text)
        host = match.group(1) if match else ""
        return host.strip("[]") or None
    if match is None:
        return None
    return unquote(match.group(2)).strip("[]") or None


def looks_like_url(text: str) -> bool:
    return _URL.match(text) is not None


# ---------------------------------------------------------------------------------------------
# Databases


def conninfo_database(text: str) -> str | None:
    """The database a psql ``-d`` value names: a URI's path, a ``dbname=`` keyword, or the plain name."""
    text = text.replace(_SPLIT, " ").strip()
    if text.startswith(("postgres://", "postgresql://")):
        rest = text.split("://", 1)[1]
        path = rest.split("/", 1)[1] if "/" in rest else ""
        name = path.split("?", 1)[0]
        if not name:
            query = rest.partition("?")[2]
            for pair in query.split("&"):
                if pair.startswith("dbname="):
                    return unquote(pair.removeprefix("dbname="))
            return None
        return unquote(name)
    if "=" in text:
        for word in text.split():
            if word.startswith("dbname="):
                return word.removeprefix("dbname=").strip("'\"")
        return None
    return text or None


def conninfo_hosts(text: str) -> list[str]:
    """Hosts named by a psql connection string (URI authority or ``host=`` keyword)."""
    text = text.replace(_SPLIT, " ").strip()
    if text.startswith(("postgres://", "postgresql://")):
        authority = text.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
        hosts = [
            part.rsplit(":", 1)[0] if not part.startswith("[") else part.split("]")[0] + "]"
            for part in authority.split(",")
        ]
        query = text.partition("?")[2]
        hosts += [unquote(p.removeprefix("host=")) for p in query.split("&") if p.startswith("host=")]
        return [h.strip("[]") for h in hosts if h]
    if "=" in text:
        return [w.removeprefix("host=").strip("'\"") for w in text.split() if w.startswith("host=")]
    return []


# ---------------------------------------------------------------------------------------------
# Command-line options


def getopt(
    args: list[Word], value_opts: frozenset[str], attached_only: frozenset[str] = frozenset()
) -> tuple[list[Word], dict[str, list[Word]]]:
    """(operands, option -> values) of an argv, the way getopt reads it.

    ``value_opts`` take a value (``-o FILE``, ``-oFILE``, ``--output FILE``, ``--output=FILE``);
    ``attached_only`` take an optional value only when attached (``sed -i.bak``).
    """
    from remediation.validation.bash_words import Word as _Word  # run time only when walking bash

    operands: list[Word] = []
    values: dict[str, list[Word]] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        text = arg.text
        if text == "--":
            operands.extend(args[i + 1 :])
            break
        if text.startswith("--") and len(text) > 2:
            name, sep, value = text.partition("=")
            if sep:
                values.setdefault(name, []).append(_Word(value, arg.raw, arg.line, dynamic=arg.dynamic))
            elif name in value_opts and i + 1 < len(args):
                values.setdefault(name, []).append(args[i + 1])
                i += 1
            else:
                values.setdefault(name, [])
        elif text.startswith("-") and len(text) > 1 and DYNAMIC not in text[:2]:
            for k in range(1, len(text)):
                flag = "-" + text[k]
                rest = text[k + 1 :]
                if flag in attached_only:
                    values.setdefault(flag, []).extend([_Word(rest, arg.raw, arg.line)] if rest else [])
                    break
                if flag in value_opts:
                    if rest:
                        values.setdefault(flag, []).append(_Word(rest, arg.raw, arg.line, dynamic=arg.dynamic))
                    elif i + 1 < len(args):
                        values.setdefault(flag, []).append(args[i + 1])
                        i += 1
                    break
                values.setdefault(flag, [])
        else:
            operands.append(arg)
        i += 1
    return operands, values


def _opts(*names: str) -> frozenset[str]:
    return frozenset(names)


_CP_VALUES = _opts("-t", "--target-directory", "-S", "--suffix")
_INSTALL_VALUES = _opts("-t", "--target-directory", "-S", "--suffix", "-m", "--mode", "-o", "--owner", "-g", "--group")
_TRUNCATE_VALUES = _opts("-s", "--size", "-r", "--reference")
_TOUCH_VALUES = _opts("-d", "--date", "-t", "-r", "--reference")
_MKDIR_VALUES = _opts("-m", "--mode", "--context")
_SED_VALUES = _opts("-e", "--expression", "-f", "--file", "-l", "--line-length")
_PERL_VALUES = _opts("-e", "-E", "-M", "-m", "-I", "-x")
_RSYNC_VALUES = _opts(
    "-e", "--rsh", "-f", "--filter", "--exclude", "--include", "--exclude-from", "--include-from", "--port",
    "-T", "--temp-dir", "--log-file", "--password-file", "-B", "--block-size", "--chmod", "--chown", "--files-from",
    "--backup-dir", "--suffix", "--compare-dest", "--copy-dest", "--link-dest", "--timeout", "--bwlimit",
)  # fmt: skip
_SCP_VALUES = _opts("-P", "-i", "-o", "-F", "-l", "-c", "-S", "-J", "-D", "-X")
_SSH_VALUES = _opts(
    "-i", "-p", "-l", "-o", "-F", "-J", "-L", "-R", "-D", "-W", "-b", "-c", "-E", "-m", "-S", "-O", "-Q", "-w", "-B",
    "-e", "-I",
)  # fmt: skip
_CURL_VALUES = _opts(
    "-o", "--output", "-d", "--data", "--data-raw", "--data-binary", "--data-urlencode", "--data-ascii", "--json",
    "-H", "--header", "-X", "--request", "-u", "--user", "-F", "--form", "--form-string", "-w", "--write-out",
    "-m", "--max-time", "--connect-timeout", "-A", "--user-agent", "-e", "--referer", "-b", "--cookie",
    "-c", "--cookie-jar", "-T", "--upload-file", "-K", "--config", "-r", "--range", "--retry", "--retry-delay",
    "--retry-max-time", "-x", "--proxy", "-U", "--proxy-user", "--cacert", "--capath", "--cert", "-E", "--key",
    "--resolve", "--connect-to", "-D", "--dump-header", "--limit-rate", "-Y", "--speed-limit", "-y", "--speed-time",
    "--max-filesize", "--interface", "--dns-servers", "--unix-socket", "--noproxy", "--url-query", "-z",
    "--time-cond", "--trace", "--trace-ascii", "--stderr", "-C", "--continue-at", "-Q", "--quote",
    "--oauth2-bearer", "--aws-sigv4", "--pinnedpubkey", "--ciphers", "--tls-max", "--expect100-timeout",
    "--max-redirs", "--proto", "--proto-redir", "-t", "--telnet-option", "--local-port", "--mail-from",
    "--mail-rcpt", "--variable", "--output-dir", "--url", "--cert-type", "--key-type", "--pass", "--keepalive-time",
)  # fmt: skip
_WGET_VALUES = _opts(
    "-O", "--output-document", "-o", "--output-file", "-a", "--append-output", "-P", "--directory-prefix",
    "-t", "--tries", "-T", "--timeout", "-U", "--user-agent", "--header", "--post-data", "--post-file",
    "--body-data", "--body-file", "--method", "-e", "--execute", "-i", "--input-file", "--user", "--password",
    "--http-user", "--http-password", "-w", "--wait", "--limit-rate", "-Q", "--quota", "--ca-certificate",
    "--certificate", "--private-key", "--load-cookies", "--save-cookies", "--referer", "-l", "--level", "-A",
    "-R", "-D", "--domains", "--exclude-domains", "-I", "-X", "--bind-address", "--dns-timeout",
    "--connect-timeout", "--read-timeout",
)  # fmt: skip
_NC_VALUES = _opts(
    "-p", "-w", "-s", "-i", "-q", "-x", "-X", "-e", "-c", "-W", "-T", "-O", "-I", "-P", "-V", "-M", "-m",
    "--sh-exec", "--exec", "--lua-exec", "--source", "--source-port", "--wait", "--proxy", "--proxy-type",
)  # fmt: skip
_PSQL_VALUES = _opts(
    "-c", "--command", "-d", "--dbname", "-f", "--file", "-h", "--host", "-L", "--log-file", "-o", "--output",
    "-p", "--port", "-P", "--pset", "-R", "--record-separator", "-F", "--field-separator", "-T", "--table-attr",
    "-U", "--username", "-v", "--set", "--variable",
)  # fmt: skip
#: pg_dump, pg_restore, vacuumdb, createdb ...: their own options that take a value.
_PG_TOOL_VALUES = _opts(
    "-d", "--dbname", "-f", "--file", "-F", "--format", "-h", "--host", "-j", "--jobs", "-n", "--schema", "-N",
    "--exclude-schema", "-p", "--port", "-t", "--table", "-T", "--exclude-table", "-U", "--username", "-Z",
    "--compress", "-E", "--encoding", "-S", "--superuser", "--role", "--section", "-l", "--locale", "-O", "--owner",
    "-D", "--tablespace", "--maintenance-db", "-I", "--index", "-L", "--use-list", "-c", "--client", "-s", "--scale",
    "-r", "--rate",
)  # fmt: skip
_KUBECTL_VALUES = _opts(
    "-n", "--namespace", "--context", "-l", "--selector", "-f", "--filename", "-o", "--output", "--field-selector",
    "-c", "--container", "--kubeconfig", "--cluster", "--user", "-p", "--patch", "--type", "--replicas", "--image",
    "--timeout", "-k", "--kustomize", "-L", "--label-columns", "--sort-by", "--revision", "--to-revision",
    "--grace-period", "--server", "-s", "--token", "--as", "--as-group", "--request-timeout", "--kube-context",
    "--values", "--set", "--set-string", "--version", "--repo", "--wait-for",
)  # fmt: skip
#: psql-family programs and whether their first operand is a database name.
_PG_TOOLS = {
    "psql": True,
    "pg_dump": True,
    "pg_dumpall": False,
    "pg_restore": False,
    "pg_basebackup": False,
    "pg_isready": False,
    "vacuumdb": True,
    "reindexdb": True,
    "clusterdb": True,
    "createdb": True,
    "dropdb": True,
    "pgbench": True,
}
_KUBECTL_READ_ONLY = frozenset(
    {"get", "describe", "logs", "top", "explain", "api-resources", "api-versions", "version", "auth", "diff",
     "events", "wait", "cluster-info", "config", "completion", "plugin", "status", "history", "list", "show",
     "template", "search", "lint", "env", "repo", "dependency"}
)  # fmt: skip
#: kubectl verbs and kinds that act on the cluster, not inside a namespace.
_CLUSTER_VERBS = frozenset({"cordon", "uncordon", "drain", "taint", "certificate"})
_CLUSTER_KINDS = frozenset(
    {"node", "nodes", "no", "pv", "persistentvolume", "persistentvolumes", "clusterrole", "clusterroles",
     "clusterrolebinding", "clusterrolebindings", "storageclass", "storageclasses", "sc", "crd", "crds",
     "customresourcedefinition", "customresourcedefinitions", "priorityclass", "priorityclasses", "pc",
     "validatingwebhookconfiguration", "mutatingwebhookconfiguration", "apiservice", "csr",
     "certificatesigningrequest", "ingressclass", "runtimeclass"}
)  # fmt: skip
_FIND_WRITERS = frozenset({"rm", "shred", "unlink", "truncate", "chmod", "chown", "chgrp", "mv", "sed", "perl"})
_SOCAT_NETWORK = re.compile(
    r"^(?:tcp[46]?(?:-connect)?|udp[46]?(?:-connect|-sendto)?|openssl(?:-connect)?|ssl|sctp(?:-connect)?|proxy)"
    r":(\[[^\]]*\]|[^:,]*)",
    re.IGNORECASE,
)
_REMOTE_SPEC = re.compile(r"^(?:[^@/:]+@)?(\[[^\]]+\]|[^/:@\[\]]+):(?!//)")
_DEV_TCP = re.compile(r"^/dev/(?:tcp|udp)/([^/]+)/")


class ScopeSink(Protocol):
    def emit(self, rule_id: str, line: int, message: str) -> None: ...


def _shown(word: Word) -> str:
    return word.raw[:80] if DYNAMIC in word.text else word.text.replace(_SPLIT, " ")[:80]


# ---------------------------------------------------------------------------------------------
# The checks


class ScopeRules:
    """Applies the four scope rules to each command; silent for every list left empty."""

    def __init__(
        self,
        sink: ScopeSink,
        context: ValidationContext,
        cwd: Callable[[], str | None] = lambda: None,
        env_lookup: Callable[[str], Word | None] = lambda name: None,
    ) -> None:
        self.sink = sink
        self.context = context
        #: the directory a literal ``cd`` moved the script to, or None
        self._cwd = cwd
        #: a variable the script assigned (PGHOST, PGDATABASE) as a word, or None
        self.env_lookup = env_lookup

    # -- entry point ----------------------------------------------------------------------------
    def check(self, cmd: Command) -> None:
        if self.context.allowed_paths and cmd.context != "kubectl exec":
            for redirect in cmd.redirects:
                self._redirect(cmd, redirect)
            for word, verb in self._written(cmd):
                self._path(cmd, word, verb)
        if self.context.allowed_hosts:
            for host_word, what in self._hosts(cmd):
                self._host(cmd, host_word, what)
        if self.context.allowed_namespaces and cmd.name in ("kubectl", "helm", "oc"):
            self._namespaces(cmd)
        if self.context.allowed_databases and cmd.name in _PG_TOOLS:
            self._databases(cmd)

    # -- paths ----------------------------------------------------------------------------------
    def _path(self, cmd: Command, word: Word, verb: str, subject: str = "") -> None:
        touched = resolve_path(word.text, self._cwd())
        if path_in_scope(touched, self.context.allowed_paths):
            return
        allowed = ", ".join(self.context.allowed_paths)
        if touched.path is None:
            relative = DYNAMIC not in word.text and not word.text.startswith(("/", "~"))
            why = "a relative path and the working directory is unknown" if relative else "known only at run time"
            message = (
                f"{subject or cmd.name} {verb} '{_shown(word)}', {why}: it cannot be shown to stay inside {allowed}"
            )
        else:
            where = touched.path if touched.exact else f"somewhere under {touched.path}"
            message = f"{subject or cmd.name} {verb} {where}, outside the allowed paths ({allowed})"
        self.sink.emit("scope.path", cmd.line, message)

    def _redirect(self, cmd: Command, redirect: Redirect) -> None:
        if redirect.target is None or redirect.op not in (">", ">>", "&>", "&>>", ">|", "<>", ">&"):
            return
        text = redirect.target.text
        if redirect.op == ">&" and (text.isdigit() or text == "-"):
            return
        if _DEV_TCP.match(text):
            return  # a socket, not a file (the host is checked below)
        verb = "appends to" if redirect.op in (">>", "&>>") else "writes"
        self._path(cmd, redirect.target, verb, subject=f"redirect {redirect.op}")

    def _written(self, cmd: Command) -> Iterator[tuple[Word, str]]:
        """(path word, verb) of every path the command writes, deletes, moves, chmods or truncates."""
        name = cmd.name
        if name in ("rm", "unlink", "rmdir", "shred"):
            ops, _ = getopt(cmd.args, _opts("-n", "--iterations", "-s", "--size"))
            yield from ((w, "deletes") for w in ops)
            if not ops and cmd.from_xargs:
                yield from self._xargs_roots(cmd)
        elif name in ("mv", "cp", "ln", "install"):
            ops, values = getopt(cmd.args, _INSTALL_VALUES if name == "install" else _CP_VALUES)
            targets = values.get("-t", []) + values.get("--target-directory", [])
            verb = {"mv": "moves into", "cp": "copies into", "ln": "links", "install": "installs into"}[name]
            if name == "install" and ("-d" in values or "--directory" in values):
                yield from ((w, "creates") for w in ops)
            elif targets:
                yield from ((w, verb) for w in targets)
            elif len(ops) >= 2:
                yield ops[-1], verb
            elif name == "ln" and len(ops) == 1:
                yield _basename_word(ops[0]), verb  # the link lands in the working directory
            if name == "mv":
                sources = ops if targets else ops[:-1]
                yield from ((w, "moves away") for w in sources)
        elif name == "rsync":
            ops, _ = getopt(cmd.args, _RSYNC_VALUES)
            if len(ops) >= 2 and not _REMOTE_SPEC.match(ops[-1].text) and not looks_like_url(ops[-1].text):
                yield ops[-1], "copies into"
        elif name == "scp":
            ops, _ = getopt(cmd.args, _SCP_VALUES)
            if len(ops) >= 2 and not _REMOTE_SPEC.match(ops[-1].text) and not looks_like_url(ops[-1].text):
                yield ops[-1], "copies into"
        elif name == "tee":
            ops, _ = getopt(cmd.args, _opts("--output-error"))
            yield from ((w, "writes") for w in ops)
        elif name == "truncate":
            ops, _ = getopt(cmd.args, _TRUNCATE_VALUES)
            yield from ((w, "truncates") for w in ops)
        elif name in ("touch", "mkdir"):
            ops, _ = getopt(cmd.args, _TOUCH_VALUES if name == "touch" else _MKDIR_VALUES)
            yield from ((w, "creates") for w in ops)
        elif name in ("chmod", "chown", "chgrp"):
            yield from ((w, name + "s") for w in self._permission_targets(cmd))
        elif name in ("sed", "perl"):
            yield from self._in_place(cmd)
        elif name == "dd":
            for arg in cmd.args:
                if arg.text.startswith("of="):
                    yield _suffix_word(arg, 3), "writes"
        elif name == "find":
            yield from self._find_roots(cmd)
        elif name == "curl":
            _ops, values = getopt(cmd.args, _CURL_VALUES)
            yield from ((w, "downloads into") for w in values.get("-o", []) + values.get("--output", []))
        elif name == "wget":
            _ops, values = getopt(cmd.args, _WGET_VALUES)
            outputs = values.get("-O", []) + values.get("--output-document", [])
            yield from ((w, "downloads into") for w in outputs if w.text != "-")

    def _permission_targets(self, cmd: Command) -> list[Word]:
        ops, values = getopt(cmd.args, _opts("--from"))
        negative_mode = cmd.name == "chmod" and any(re.fullmatch(r"-[rwxXstugo]+", a.text) for a in cmd.args)
        if "--reference" in values or negative_mode:
            return ops
        return ops[1:]

    def _in_place(self, cmd: Command) -> Iterator[tuple[Word, str]]:
        if cmd.name == "sed":
            ops, values = getopt(cmd.args, _SED_VALUES, attached_only=_opts("-i"))
            script_given = any(k in values for k in ("-e", "--expression", "-f", "--file"))
        else:
            ops, values = getopt(cmd.args, _PERL_VALUES, attached_only=_opts("-i"))
            script_given = "-e" in values or "-E" in values
        if "-i" not in values and "--in-place" not in values:
            return
        files = ops if script_given else ops[1:]
        yield from ((w, "edits in place") for w in files)

    def _find_roots(self, cmd: Command) -> Iterator[tuple[Word, str]]:
        argv = cmd.argv
        writes = "-delete" in argv
        for i, text in enumerate(argv):
            if text in ("-exec", "-execdir", "-ok", "-okdir") and i + 1 < len(argv):
                inner = argv[i + 1].rsplit("/", 1)[-1]
                writes = writes or inner in _FIND_WRITERS
        if not writes:
            return
        roots = []
        for arg in cmd.args:
            if arg.text.startswith(("-", "(", "!")):
                break
            roots.append(arg)
        for root in roots:
            yield root, "changes files under"
        if not roots:
            yield _literal_word(".", cmd.line), "changes files under"

    def _xargs_roots(self, cmd: Command) -> Iterator[tuple[Word, str]]:
        """``find ROOT | xargs rm``: the files come from under ROOT; from anything else they are unknown."""
        for up in cmd.upstream:
            if up.name == "find":
                roots = [a for a in up.args if not a.text.startswith(("-", "(", "!"))][:1]
                yield (roots[0] if roots else _literal_word(".", cmd.line)), "deletes files from under"
                return
        yield _literal_word(DYNAMIC, cmd.line, raw="<standard input>"), "deletes"

    # -- hosts ----------------------------------------------------------------------------------
    def _host(self, cmd: Command, word: Word | None, what: str) -> None:
        host = None if word is None else word.text
        if host_in_scope(host, self.context.allowed_hosts):
            return
        allowed = ", ".join(self.context.allowed_hosts)
        if host is None or DYNAMIC in host or not host.strip():
            shown = _shown(word) if word is not None else what
            message = f"{cmd.name} connects to '{shown}', a host known only at run time (allowed: {allowed})"
        else:
            message = f"{cmd.name} connects to {host[:80]}, which is not among the allowed hosts ({allowed})"
        self.sink.emit("scope.host", cmd.line, message)

    def _hosts(self, cmd: Command) -> Iterator[tuple[Word | None, str]]:
        """(host word or None for unknown, description) of every host the command connects to."""
        for redirect in cmd.redirects:
            if redirect.target is not None:
                match = _DEV_TCP.match(redirect.target.text)
                if match:
                    yield _host_word(match.group(1), redirect.target), "/dev/tcp"
        name = cmd.name
        if name in ("curl", "http", "xh", "https"):
            ops, values = getopt(cmd.args, _CURL_VALUES)
            urls = ops + values.get("--url", [])
            for url in urls:
                yield self._url_word(url, bare=True), "URL"
            for proxy in values.get("-x", []) + values.get("--proxy", []):
                yield self._url_word(proxy, bare=True), "proxy"
            for pin in values.get("--resolve", []) + values.get("--connect-to", []):
                address = pin.text.rsplit(":", 1)[-1] if pin.text.count(":") >= 2 else ""
                if address:
                    yield _host_word(address, pin), "resolve"
        elif name == "wget":
            ops, _ = getopt(cmd.args, _WGET_VALUES)
            for url in ops:
                yield self._url_word(url, bare=True), "URL"
        elif name in ("ssh", "sftp", "telnet", "ftp", "mosh"):
            ops, values = getopt(cmd.args, _SSH_VALUES if name in ("ssh", "sftp") else _opts())
            if ops:
                yield self._remote_word(ops[0], bare=True), "remote host"
            for jump in values.get("-J", []):
                for hop in jump.text.split(","):
                    yield self._remote_word(_host_word(hop, jump), bare=True), "jump host"
        elif name in ("scp", "rsync"):
            ops, _ = getopt(cmd.args, _SCP_VALUES if name == "scp" else _RSYNC_VALUES)
            remote = False
            for op in ops:
                if looks_like_url(op.text) or _REMOTE_SPEC.match(op.text) or "::" in op.text:
                    remote = True
                    yield self._remote_word(op, bare=False), "remote host"
            if name == "scp" and not remote and any(DYNAMIC in op.text for op in ops):
                yield None, "a run-time scp operand"
        elif name in ("nc", "ncat", "netcat"):
            ops, values = getopt(cmd.args, _NC_VALUES)
            listening = "-l" in values or "--listen" in values
            if ops and not listening:
                yield _host_word(ops[0].text, ops[0]), "host"
        elif name == "socat":
            for arg in cmd.args:
                match = _SOCAT_NETWORK.match(arg.text)
                if match and match.group(1):
                    yield _host_word(match.group(1), arg), "socket"
        elif name in _PG_TOOLS or name in ("redis-cli", "mysql", "mariadb", "mongo", "mongosh"):
            yield from self._db_hosts(cmd)

    def _url_word(self, word: Word, *, bare: bool) -> Word:
        host = url_host(word.text, bare=bare)
        return _host_word(host, word) if host else word  # unparsable: judged (and shown) as written

    def _remote_word(self, word: Word, *, bare: bool) -> Word | None:
        text = word.text
        if looks_like_url(text):
            return self._url_word(word, bare=False)
        head = text.split("::", 1)[0] + ":" if "::" in text else text
        match = _REMOTE_SPEC.match(head + ":" if bare else head)
        if match is None:
            return None
        return _host_word(match.group(1), word)

    def _db_hosts(self, cmd: Command) -> Iterator[tuple[Word | None, str]]:
        ops, values = getopt(cmd.args, _PSQL_VALUES if cmd.name in ("psql", "mysql", "mariadb") else _PG_TOOL_VALUES)
        host_words = values.get("-h", []) + values.get("--host", [])
        if cmd.name in ("mongo", "mongosh"):
            host_words = values.get("--host", [])
        for word in host_words:
            for host in word.text.split(","):
                if host.startswith("/"):
                    continue  # a Unix socket directory: this host
                yield _host_word(host.rsplit(":", 1)[0] if host.count(":") == 1 else host, word), "database host"
        if cmd.name not in _PG_TOOLS:
            return
        conn_words = values.get("-d", []) + values.get("--dbname", []) + values.get("--maintenance-db", [])
        conn_words += [w for w in ops[:1] if "=" in w.text or w.text.startswith(("postgres://", "postgresql://"))]
        conn_words += [w for w in ops[:1] if w.text.startswith(DYNAMIC)]
        for word in conn_words:
            if word.text.startswith(DYNAMIC):
                yield word, "connection string"  # "$DATABASE_URL": the host is only known at run time
                continue
            for host in conninfo_hosts(word.text):
                if not host.startswith("/"):
                    yield _host_word(host, word), "database host"
        if not host_words:
            env_host = cmd.prefix_env.get("PGHOST") or self.env_lookup("PGHOST")
            if env_host is not None:
                for host in env_host.text.split(","):
                    if host and not host.startswith("/"):
                        yield _host_word(host, env_host), "PGHOST"

    # -- namespaces -----------------------------------------------------------------------------
    def _namespaces(self, cmd: Command) -> None:
        ops, values = getopt(cmd.args, _KUBECTL_VALUES)
        allowed = self.context.allowed_namespaces
        listed = ", ".join(allowed)
        verb = ops[0].text if ops else ""
        if cmd.name == "helm" and verb in ("repo", "search", "version", "env", "plugin", "completion"):
            return
        namespaces = values.get("-n", []) + values.get("--namespace", [])
        for word in namespaces:
            if DYNAMIC in word.text or not word.text:
                self.sink.emit(
                    "scope.namespace",
                    cmd.line,
                    f"{cmd.name} {verb} uses namespace '{_shown(word)}', known only at run time (allowed: {listed})",
                )
            elif word.text not in allowed:
                self.sink.emit(
                    "scope.namespace",
                    cmd.line,
                    f"{cmd.name} {verb} acts in namespace {word.text!r}, outside the allowed namespaces ({listed})",
                )
        mutating = verb not in _KUBECTL_READ_ONLY and verb != ""
        every = any(k in values for k in ("-A", "--all-namespaces"))
        if every and mutating:
            self.sink.emit(
                "scope.namespace",
                cmd.line,
                f"{cmd.name} {verb} --all-namespaces reaches beyond the allowed namespaces ({listed})",
            )
        if cmd.name in ("kubectl", "oc") and len(ops) >= 2:
            kind, _, name = ops[1].text.lower().partition("/")
            if kind in ("ns", "namespace", "namespaces"):
                names = [name] if name else [o.text for o in ops[2:]]
                for target in names:
                    if target not in allowed and mutating:
                        self.sink.emit(
                            "scope.namespace",
                            cmd.line,
                            f"kubectl {verb} namespace {target[:60]!r}, outside the allowed namespaces ({listed})",
                        )
                return
        manifest = any(k in values for k in ("-f", "--filename", "-k", "--kustomize"))
        kinds = {part.partition("/")[0] for o in ops[1:3] for part in o.text.lower().split(",")}
        cluster_wide = verb in _CLUSTER_VERBS or bool(kinds & _CLUSTER_KINDS)
        if not namespaces and not every and mutating and not manifest and not cluster_wide:
            self.sink.emit(
                "scope.namespace_unset",
                cmd.line,
                f"{cmd.name} {verb} names no namespace; it acts in whatever namespace the kubeconfig selects "
                f"(allowed: {listed})",
            )

    # -- databases ------------------------------------------------------------------------------
    def _databases(self, cmd: Command) -> None:
        ops, values = getopt(cmd.args, _PSQL_VALUES if cmd.name == "psql" else _PG_TOOL_VALUES)
        words = values.get("-d", []) + values.get("--dbname", [])
        if cmd.name == "pg_dumpall":
            words = []
        if not words and _PG_TOOLS.get(cmd.name) and ops:
            words = ops[:1]
        if not words:
            env_db = cmd.prefix_env.get("PGDATABASE") or self.env_lookup("PGDATABASE")
            words = [env_db] if env_db is not None else []
        allowed = self.context.allowed_databases
        for word in words:
            if DYNAMIC in word.text:
                database: str | None = None
            else:
                database = conninfo_database(word.text)
                if database is None:
                    continue  # a conninfo without dbname: the default database, named by no one here
            if database is not None and database in allowed:
                continue
            listed = ", ".join(allowed)
            if database is None:
                message = (
                    f"{cmd.name} connects to database '{_shown(word)}', known only at run time (allowed: {listed})"
                )
            else:
                message = f"{cmd.name} connects to database {database!r}, outside the allowed databases ({listed})"
            self.sink.emit("scope.database", cmd.line, message)


def _literal_word(text: str, line: int, raw: str = "") -> Word:
    from remediation.validation.bash_words import Word as _Word

    return _Word(text=text, raw=raw or text, line=line, dynamic=DYNAMIC in text)


def _suffix_word(word: Word, start: int) -> Word:
    from remediation.validation.bash_words import Word as _Word

    return _Word(text=word.text[start:], raw=word.raw, line=word.line, dynamic=word.dynamic)


def _basename_word(word: Word) -> Word:
    from remediation.validation.bash_words import Word as _Word

    return _Word(text=word.text.rstrip("/").rsplit("/", 1)[-1], raw=word.raw, line=word.line, dynamic=word.dynamic)


def _host_word(host: str, origin: Word) -> Word:
    from remediation.validation.bash_words import Word as _Word

    host = host.rsplit("@", 1)[-1].strip().strip("[]")
    return _Word(text=host, raw=origin.raw, line=origin.line, dynamic=DYNAMIC in host)


__all__ = [
    "ALWAYS_ALLOWED_ROOTS",
    "DYNAMIC",
    "ScopeRules",
    "TouchedPath",
    "conninfo_database",
    "conninfo_hosts",
    "host_in_scope",
    "is_loopback",
    "path_in_scope",
    "resolve_path",
    "scope_lists_set",
    "url_host",
]
