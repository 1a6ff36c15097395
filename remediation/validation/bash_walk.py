"""Walk a tree-sitter bash tree and turn it into normalised simple commands.

Each simple command becomes a :class:`Command`: wrappers (sudo, env, nice, xargs, ...) unwrapped,
the name resolved through quoting, variables, aliases and absolute paths, its redirects and the
text fed to its standard input (heredoc, here-string, or the earlier stages of its pipeline).
Rules in :mod:`remediation.validation.bash_rules` look only at these commands, never at raw text,
so a dangerous string inside ``echo "..."`` or a comment is data, not a command.

The walk visits every node of the tree (nothing is skipped by type), so an unfamiliar construct
cannot hide a command from the rules; function bodies are walked where defined and again with
literal arguments where called; ``for`` loops over literal lists are walked once per value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tree_sitter import Node

from remediation.validation.bash_words import SPLIT, UNKNOWN, Value, Word, WordEvaluator, normalise_name

MAX_FUNCTION_REPLAYS = 20
MAX_LOOP_VALUES = 8


@dataclass(slots=True)
class Redirect:
    op: str
    target: Word | None
    line: int


@dataclass(slots=True)
class Command:
    name: str
    args: list[Word]
    line: int
    name_word: Word
    wrappers: list[str] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    #: literal text on standard input (heredoc body or here-string), when there is one
    stdin_text: str | None = None
    stdin_dynamic: bool = False
    #: earlier stages of the pipeline feeding this command's standard input
    upstream: list[Command] = field(default_factory=list)
    prefix_env: dict[str, Word] = field(default_factory=dict)
    #: arguments come from standard input (xargs)
    from_xargs: bool = False
    #: inside a trap handler, an alias, a deferred job, or similar
    context: str = ""

    @property
    def argv(self) -> list[str]:
        return [a.text for a in self.args]

    def has_flag(self, *flags: str) -> bool:
        """True when a short flag letter or a long option is present (``-rf`` has ``-r``)."""
        for arg in self.args:
            text = arg.text
            if text == "--":
                break
            for flag in flags:
                if flag.startswith("--"):
                    if text == flag or text.startswith(flag + "="):
                        return True
                elif len(flag) == 2 and text.startswith("-") and not text.startswith("--") and flag[1] in text[1:]:
                    return True
        return False

    def operands(self) -> list[Word]:
        """Arguments that are not options (everything after ``--`` counts)."""
        out: list[Word] = []
        seen_dashdash = False
        for arg in self.args:
            if not seen_dashdash and arg.text == "--":
                seen_dashdash = True
                continue
            if not seen_dashdash and arg.text.startswith("-") and len(arg.text) > 1:
                continue
            out.append(arg)
        return out


# Wrappers: name -> (options that take a value, stop handling).
_WRAPPER_OPTS: dict[str, set[str]] = {
    "sudo": {"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "--user", "--group"},
    "doas": {"-u", "-C"},
    "env": {"-u", "-C", "--unset", "--chdir"},
    "nice": {"-n", "--adjustment"},
    "nohup": set(),
    "timeout": {"-s", "-k", "--signal", "--kill-after"},
    "time": {"-f", "-o"},
    "ionice": {"-c", "-n", "-p", "-P", "-u", "--class", "--classdata"},
    "setsid": set(),
    "stdbuf": {"-i", "-o", "-e"},
    "command": set(),
    "builtin": set(),
    "exec": {"-a"},
    "strace": {"-o", "-e", "-p", "-s", "-u"},
    "ltrace": {"-o", "-e", "-p"},
    "watch": {"-n", "--interval", "-d"},
    "unshare": set(),
    "nsenter": {"-t", "--target"},
    "chrt": set(),
    "taskset": set(),
    "unbuffer": set(),
    "caffeinate": set(),
    "catchsegv": set(),
    "fakeroot": set(),
    "proxychains": set(),
    "torsocks": set(),
    "firejail": set(),
    "busybox": set(),
    "systemd-run": {"--unit", "-u", "-p", "--property", "--on-calendar", "--on-active", "-E", "--setenv", "--uid"},
    "xargs": {"-I", "-n", "-P", "-d", "-L", "-a", "-E", "-s", "--max-args", "--max-procs", "--delimiter", "-i"},
    "parallel": {"-j", "--jobs", "-S"},
    "flock": {"-w", "--timeout", "-E"},
    "chroot": {"--userspec", "--groups"},
    "runuser": {"-u", "-g", "-G", "--user", "--group"},
}
#: Wrappers whose first operand is not the command (duration, new root, lock file, priority ...).
_WRAPPER_FIRST_OPERAND_SKIPPED = {"timeout", "chroot", "flock", "chrt", "taskset"}
#: Wrappers that defer execution past the life of the script.
DEFERRING_WRAPPERS = {"systemd-run", "at", "batch"}


def unwrap(argv: list[Word]) -> tuple[list[str], list[Word], dict[str, Word], bool]:
    """Strip wrapper commands; returns (wrappers, inner argv, env assignments, from_xargs)."""
    wrappers: list[str] = []
    env: dict[str, Word] = {}
    from_xargs = False
    words = list(argv)
    for _ in range(16):
        if not words:
            break
        name = normalise_name(words[0].text)
        if name not in _WRAPPER_OPTS:
            break
        if name == "command" and len(words) > 1 and words[1].text in ("-v", "-V"):
            break
        opts = _WRAPPER_OPTS[name]
        wrappers.append(name)
        from_xargs = from_xargs or name in ("xargs", "parallel")
        i = 1
        skipped_operand = name not in _WRAPPER_FIRST_OPERAND_SKIPPED
        while i < len(words):
            text = words[i].text
            if text == "--":
                i += 1
                if not skipped_operand:
                    i += 1
                    skipped_operand = True
                break
            if name == "env" and "=" in text and not text.startswith("-"):
                key, _, _value = text.partition("=")
                env[key] = Word(text=text.split("=", 1)[1], raw=words[i].raw, line=words[i].line)
                i += 1
                continue
            if text.startswith("-") and len(text) > 1:
                if text in opts or (len(text) > 2 and text[:2] in opts and not text.startswith("--")):
                    i += 2 if text in opts else 1
                else:
                    i += 1
                continue
            if name == "nice" and text.lstrip("-").isdigit():
                i += 1
                continue
            if not skipped_operand:
                skipped_operand = True
                i += 1
                continue
            break
        words = words[i:]
    return wrappers, words, env, from_xargs


class Walker:
    """Visits the tree in source order, keeping variables, aliases and functions as it goes."""

    def __init__(
        self,
        source: bytes,
        on_command: Callable[[Command], None],
        on_assignment: Callable[[str, Word | None, int, bool], None],
        on_node: Callable[[Node, Walker], None],
    ) -> None:
        self.source = source
        self.words = WordEvaluator(source)
        self.on_command = on_command
        self.on_assignment = on_assignment
        self.on_node = on_node
        self.functions: dict[str, Node] = {}
        self.aliases: dict[str, str] = {}
        self._replays = 0
        self._active_functions: set[str] = set()

    def text(self, node: Node) -> str:
        return self.words.node_text(node)

    # -- traversal ----------------------------------------------------------------------------
    def walk(self, node: Node, upstream: list[Command] | None = None) -> list[Command]:
        """Visit ``node``; returns the commands it contains at pipeline level (for pipelines)."""
        self.on_node(node, self)
        t = node.type
        if t == "command":
            cmd = self._command(node, [], upstream or [])
            return [cmd] if cmd else []
        if t == "redirected_statement":
            return self._redirected(node, upstream or [])
        if t == "pipeline":
            stages: list[Command] = list(upstream or [])
            for child in node.children:
                if child.type in ("|", "|&"):
                    continue
                produced = self.walk(child, stages)
                stages = stages + produced if produced else stages
            return stages[len(upstream or []) :]
        if t == "variable_assignment":
            self._assignment(node, exported=False)
            return []
        if t == "declaration_command":
            keyword = node.children[0].type if node.children else ""
            nameref = any(
                c.type == "word" and c.text is not None and c.text.startswith(b"-") and b"n" in c.text
                for c in node.children[1:]
            )
            for child in node.children[1:]:
                if child.type == "variable_assignment":
                    self._assignment(child, exported=keyword == "export")
                    name_node = child.child_by_field_name("name")
                    if nameref and name_node is not None:
                        # declare -n: the name is a reference to another variable, its value is unknown
                        self.words.env[self.text(name_node)] = Value(UNKNOWN, dynamic=True, maybe_empty=True)
                elif child.type == "variable_name" and keyword == "export":
                    self.on_assignment(self.text(child), None, child.start_point[0] + 1, True)
                else:
                    self._walk_children(child)
            return []
        if t == "unset_command":
            for child in node.children[1:]:
                name = self.text(child)
                self.words.env[name] = Value("", maybe_empty=True)
                self.on_assignment(
                    name, Word(text="", raw="unset", line=child.start_point[0] + 1), child.start_point[0] + 1, False
                )
            return []
        if t == "function_definition":
            name_node = node.child_by_field_name("name")
            body = node.child_by_field_name("body")
            if name_node is not None and body is not None:
                self.functions[self.text(name_node)] = body
            self._walk_children(node)
            return []
        if t == "for_statement":
            return self._for(node)
        if t in ("subshell", "compound_statement"):
            # `(crontab -l; echo '...') | crontab -`: the group's commands all feed the pipe
            inner: list[Command] = []
            for child in node.children:
                inner.extend(self.walk(child))
            return inner
        self._walk_children(node)
        return []

    def _walk_children(self, node: Node) -> None:
        for child in node.children:
            self.walk(child)

    def _for(self, node: Node) -> list[Command]:
        var = node.child_by_field_name("variable")
        values = node.children_by_field_name("value")
        body = node.child_by_field_name("body")
        for value_node in values:
            self._walk_substitutions(value_node)
        if var is None or body is None:
            self._walk_children(node)
            return []
        name = self.text(var)
        self.words.assigned.add(name)
        items = self.words.argv(values)
        if not items or len(items) > MAX_LOOP_VALUES or any(i.dynamic for i in items):
            self.words.env[name] = Value(UNKNOWN, dynamic=True, maybe_empty=False)
            self.walk(body)
            return []
        for item in items:
            self.words.env[name] = Value(item.text)
            self.walk(body)
        return []

    def _assignment(self, node: Node, *, exported: bool) -> None:
        name_node = node.child_by_field_name("name")
        value_node = node.child_by_field_name("value")
        if value_node is not None:
            self._walk_substitutions(value_node)
        if name_node is None:
            return
        name = self.text(name_node)
        if name_node.type == "subscript":
            inner = name_node.child_by_field_name("name")
            name = self.text(inner) if inner is not None else name
        self.words.assign(name, value_node)
        word = self.words.word(value_node) if value_node is not None else None
        self.on_assignment(name, word, node.start_point[0] + 1, exported)

    def _walk_substitutions(self, node: Node) -> None:
        """Commands inside ``$(...)``, backticks and ``<(...)`` of a word run too."""
        stack = [node]
        while stack:
            current = stack.pop()
            if current.type in ("command_substitution", "process_substitution"):
                for child in current.children:
                    if child.type not in ("$(", ")", "`", "<(", ">("):
                        self.walk(child)
                continue
            stack.extend(reversed(current.children))

    def _redirected(self, node: Node, upstream: list[Command]) -> list[Command]:
        body = node.child_by_field_name("body")
        redirects: list[Node] = [c for c in node.children if body is None or c != body]
        trailing: list[Node] = []
        direct: list[Node] = []
        for r in redirects:
            direct.append(r)
            if r.type == "heredoc_redirect":
                for c in r.children:
                    if c.type in ("file_redirect", "herestring_redirect"):
                        direct.append(c)
                    elif c.type not in (
                        "<<",
                        "<<-",
                        "heredoc_start",
                        "heredoc_body",
                        "heredoc_end",
                        "&&",
                        "||",
                        ";",
                        "|",
                        "|&",
                        "&",
                    ):
                        trailing.append(c)
        produced: list[Command] = []
        if body is not None and body.type == "command":
            # tree-sitter drops a lone "-" before a heredoc (`kubectl apply -f - <<EOF`): put it back
            gap_end = redirects[0].start_byte if redirects else body.end_byte
            if redirects and redirects[0].type == "heredoc_redirect" and redirects[0].children:
                gap_end = redirects[0].children[0].start_byte
            gap = self.source[body.end_byte : gap_end].decode("utf-8", "replace").split()
            cmd = self._command(body, direct, upstream, extra_args=gap)
            produced = [cmd] if cmd else []
        elif body is not None and body.type == "pipeline" and direct:
            # `a | b > file`: tree-sitter hangs the redirect on the pipeline; it belongs to `b`
            produced = self.walk(body, upstream)
            if produced:
                last = produced[-1]
                last.redirects = last.redirects + [self._redirect(r) for r in direct if r.type != "heredoc_redirect"]
                self.on_command(last)
            else:
                self._check_compound_redirects(direct)
        else:
            self._check_compound_redirects(direct)
            produced = self.walk(body, upstream) if body is not None else []
        stages = upstream + produced
        for extra in trailing:
            if extra.type == "pipeline":
                # `cat <<EOF | bash`: tree-sitter nests the rest of the pipeline in the heredoc
                pipe_stages = list(stages)
                for child in extra.children:
                    if child.type in ("|", "|&"):
                        continue
                    got = self.walk(child, pipe_stages)
                    pipe_stages += got
                produced = pipe_stages[len(upstream) :]
            else:
                self.walk(extra)
        return produced

    def _check_compound_redirects(self, redirects: list[Node]) -> None:
        """Redirects on a loop or group (``{ ...; } > /dev/sda``) still write their target."""
        parsed = [self._redirect(r) for r in redirects]
        dummy_word = Word(text=":", raw=":", line=parsed[0].line if parsed else 1)
        self.on_command(Command(name=":", args=[], line=dummy_word.line, name_word=dummy_word, redirects=parsed))

    def _redirect(self, node: Node) -> Redirect:
        op = ""
        target: Word | None = None
        for child in node.children:
            field_name = node.field_name_for_child(node.children.index(child))
            if child.type in (">", ">>", "<", "&>", "&>>", ">&", "<&", ">|", "<>", "<<<", "<<", "<<-"):
                op = child.type
            elif (
                target is None
                and (field_name == "destination" or (child.type != "file_descriptor" and op))
                and child.type not in ("heredoc_start", "heredoc_body", "heredoc_end", "ERROR")
            ):
                self._walk_substitutions(child)
                target = self.words.word(child)
        return Redirect(op=op, target=target, line=node.start_point[0] + 1)

    def _command(
        self, node: Node, outer_redirects: list[Node], upstream: list[Command], extra_args: list[str] | None = None
    ) -> Command | None:
        self._walk_substitutions(node)
        name_node = node.child_by_field_name("name")
        prefix_env: dict[str, Word] = {}
        redirect_nodes = list(outer_redirects)
        arg_nodes: list[Node] = []
        for i, child in enumerate(node.children):
            field_name = node.field_name_for_child(i)
            if child.type == "variable_assignment":
                n = child.child_by_field_name("name")
                v = child.child_by_field_name("value")
                if n is not None:
                    word = self.words.word(v) if v is not None else Word(text="", raw="", line=child.start_point[0] + 1)
                    prefix_env[self.text(n)] = word
                    self.on_assignment(self.text(n), word, child.start_point[0] + 1, True)
            elif child.type in ("file_redirect", "herestring_redirect", "heredoc_redirect"):
                redirect_nodes.append(child)
            elif field_name == "argument":
                arg_nodes.append(child)
        if name_node is None:
            return None
        name_inner = name_node.children[0] if name_node.children else name_node
        argv = self.words.argv([name_inner, *arg_nodes])
        if not argv:
            return None
        line = node.start_point[0] + 1
        argv.extend(Word(text=text, raw=text, line=line) for text in extra_args or [])
        name_word = argv[0]
        stdin_text: str | None = None
        stdin_dynamic = False
        redirects: list[Redirect] = []
        for r in redirect_nodes:
            if r.type == "heredoc_redirect":
                body = next((c for c in r.children if c.type == "heredoc_body"), None)
                start = next((c for c in r.children if c.type == "heredoc_start"), None)
                quoted = start is not None and any(q in self.text(start) for q in "'\"\\")
                stdin_text = self.text(body) if body is not None else ""
                if body is not None and not quoted:
                    stdin_dynamic = any(c.type != "heredoc_content" for c in body.children)
                    self._walk_substitutions(body)
                redirects.append(Redirect(op="<<", target=None, line=r.start_point[0] + 1))
                continue
            red = self._redirect(r)
            if red.op == "<<<" and red.target is not None:
                stdin_text = red.target.text.replace(SPLIT, " ")
                stdin_dynamic = red.target.dynamic
            redirects.append(red)
        wrappers, inner, env, from_xargs = unwrap(argv)
        prefix_env.update(env)
        for key, word in env.items():
            self.on_assignment(key, word, word.line, True)
        if not inner:
            inner = [name_word]
            wrappers = []
        name = normalise_name(inner[0].text)
        cmd = Command(
            name=name,
            args=inner[1:],
            line=node.start_point[0] + 1,
            name_word=inner[0],
            wrappers=wrappers,
            redirects=redirects,
            stdin_text=stdin_text,
            stdin_dynamic=stdin_dynamic,
            upstream=list(upstream),
            prefix_env=prefix_env,
            from_xargs=from_xargs,
        )
        self.on_command(cmd)
        self._track_builtins(cmd)
        self._replay_function(cmd)
        return cmd

    def _track_builtins(self, cmd: Command) -> None:
        if cmd.name == "alias":
            for arg in cmd.args:
                key, sep, value = arg.text.partition("=")
                if sep:
                    self.aliases[key] = value
        elif cmd.name in ("read", "mapfile", "readarray"):
            for arg in cmd.operands():
                self.words.assigned.add(arg.text)
                self.words.env[arg.text] = Value(UNKNOWN, dynamic=True, maybe_empty=True)
        elif cmd.name == "cd" and cmd.operands():
            self.words.env["PWD"] = Value(cmd.operands()[0].text, dynamic=cmd.operands()[0].dynamic)

    def _replay_function(self, cmd: Command) -> None:
        """Walk a function body again with the literal arguments of this call bound to $1..."""
        body = self.functions.get(cmd.name)
        if body is None or not cmd.args or self._replays >= MAX_FUNCTION_REPLAYS:
            return
        if cmd.name in self._active_functions:
            return
        self._replays += 1
        saved = {k: self.words.env.get(k) for k in [str(i) for i in range(1, 10)] + ["@", "*"]}
        for i, arg in enumerate(cmd.args[:9], start=1):
            self.words.env[str(i)] = Value(arg.text, dynamic=arg.dynamic, maybe_empty=arg.maybe_empty_prefix)
        self.words.env["@"] = Value(" ".join(a.text for a in cmd.args), array=[a.text for a in cmd.args])
        self._active_functions.add(cmd.name)
        try:
            self.walk(body)
        finally:
            self._active_functions.discard(cmd.name)
            for key, value in saved.items():
                if value is None:
                    self.words.env.pop(key, None)
                else:
                    self.words.env[key] = value
