"""Safe rendering of remediation templates.

Two independent defences keep an untrusted value from changing what a script does:

1. every value is validated against its declared type (``templates_app.variables``) before rendering;
2. every place a template prints a variable goes through a quoting filter for the script's language,
   and :func:`check_template_definition` refuses a template that prints a variable any other way.

The rule enforced by :func:`check_template_definition` (documented in docs/templates.md):

* each ``{{ ... }}`` is either a constant, ``{{ var | <quoting filter> }}`` with a filter allowed for
  the language (bash: ``shell``; python: ``py``; sql: ``sql_ident``/``sql_literal``; kubernetes:
  ``yaml``; config_patch: ``nginx``/``ini``/``config``/``yaml``; all: ``int``), or a bare
  ``{{ var }}`` whose type is in :data:`~templates_app.variables.BARE_SAFE_TYPES` (integers,
  numbers, ports, quantities, durations: a validated single token of letters, digits and dots);
* no calls, includes, imports, macros or filter blocks; only declared variables are referenced;
* a quoted value must land in a place where the quotes mean what the filter intends: a probe
  render is parsed with the language's own parser (tree-sitter-bash, ``ast``, the PostgreSQL
  scanner from pglast, PyYAML) and every probe value must be exactly one single-quoted shell word,
  one Python string constant, one SQL string constant or quoted identifier, or one YAML scalar. A
  ``'{{ x | shell }}'`` inside double quotes or a heredoc, or a ``sql_literal`` inside ``$$`` or a
  comment, is refused at definition time.

Configuration patches use a declarative ``config_edit`` document instead of free text: the template
says *what* to change (set a key, replace an upstream server) and rendering computes the new file
from ``current_config`` and emits a unified diff (see :func:`render_config_edit`).
"""

from __future__ import annotations

import ast
import configparser
import copy
import difflib
import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment

from templates_app.variables import (
    BARE_SAFE_TYPES,
    IdentifierList,
    TemplateDefinitionError,
    VariableError,
    VariableSpec,
    VariableType,
    coerce_value,
)

LANGUAGES: tuple[str, ...] = ("bash", "python", "sql", "kubernetes", "config_patch")

#: Quoting filters a template may use on a variable, per script language.
ALLOWED_FILTERS: dict[str, frozenset[str]] = {
    "bash": frozenset({"shell", "int"}),
    "python": frozenset({"py", "int"}),
    "sql": frozenset({"sql_ident", "sql_literal", "int"}),
    "kubernetes": frozenset({"yaml", "int"}),
    "config_patch": frozenset({"nginx", "ini", "config", "yaml", "int"}),
}

CONFIG_EDIT_KIND = "config_edit"
CONFIG_EDIT_ROLLBACK_KIND = "config_edit_rollback"


class TemplateRenderError(ValueError):
    """Rendering failed for a reason other than a bad variable value (broken template, no-op edit)."""


class UnsafeValueError(ValueError):
    """Raised by a quoting filter that refuses a value; render_template maps it to a VariableError."""

    def __init__(self, value: object, reason: str) -> None:
        super().__init__(reason)
        self.value = value
        self.reason = reason


@dataclass(frozen=True)
class RenderedScript:
    script: str
    rollback: str | None
    language: str


# --- quoting filters ----------------------------------------------------------------------------


def _scalar_text(value: object, filter_name: str) -> str:
    if value is None:
        raise UnsafeValueError(
            value,
            f"the {filter_name} filter got no value (an optional variable was not set)",
        )
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str | int | float):
        raise UnsafeValueError(
            value,
            f"the {filter_name} filter only quotes scalars, not {type(value).__name__}",
        )
    text = str(value)
    if "\x00" in text:
        raise UnsafeValueError(value, "contains a NUL byte")
    return text


def shell_quote(value: object) -> str:
    """Always single-quote (``'it'"'"'s'``), and refuse a leading '-' so a value never becomes an option."""
    text = _scalar_text(value, "shell")
    if text.startswith("-") and not isinstance(value, int | float):
        raise UnsafeValueError(value, "starts with '-' and would be read as a command-line option")
    return "'" + text.replace("'", "'\"'\"'") + "'"


def sql_ident_quote(value: object) -> str:
    """Double-quoted identifier(s), embedded quotes doubled; an IdentifierList becomes ``"a", "b"``."""
    if isinstance(value, IdentifierList):
        return ", ".join(sql_ident_quote(item) for item in value.items)
    text = _scalar_text(value, "sql_ident")
    if not text or len(text.encode()) > 63:
        raise UnsafeValueError(value, "an SQL identifier must be 1 to 63 bytes long")
    return '"' + text.replace('"', '""') + '"'


def sql_literal_quote(value: object) -> str:
    """An E'' string: backslashes and quotes escaped, control characters as escapes, always one line.

    The explicit E prefix makes the meaning independent of standard_conforming_strings.
    """
    text = _scalar_text(value, "sql_literal")
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == "'":
            out.append("\\'")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "E'" + "".join(out) + "'"


def yaml_quote(value: object) -> str:
    """A JSON scalar, which YAML reads as the same scalar; always one line, never structure."""
    if isinstance(value, bool | int | float) or value is None:
        if value is None:
            raise UnsafeValueError(value, "the yaml filter got no value (an optional variable was not set)")
        return json.dumps(value)
    return json.dumps(_scalar_text(value, "yaml"), ensure_ascii=True)


_NGINX_SAFE = re.compile(r"[A-Za-z0-9._:/@+=,%*-]{1,256}")


def nginx_quote(value: object) -> str:
    """A validated nginx parameter in double quotes; refuses ``; { } # $ \\ quotes`` and whitespace."""
    text = _scalar_text(value, "nginx")
    if not _NGINX_SAFE.fullmatch(text):
        raise UnsafeValueError(
            value,
            "is not a safe nginx value (no ; { } # $ quotes, backslashes or spaces)",
        )
    return '"' + text + '"'


_INI_SAFE = re.compile(r"[A-Za-z0-9._:/@+=,%*-](?:[A-Za-z0-9 ._:/@+=,%*-]{0,254}[A-Za-z0-9._:/@+=,%*-])?")


def ini_value(value: object) -> str:
    """A validated INI / key=value scalar, printed as is (INI has no quoting; so nothing unsafe is allowed)."""
    text = _scalar_text(value, "ini")
    if not _INI_SAFE.fullmatch(text):
        raise UnsafeValueError(value, "is not a safe configuration value (no ; # [ ] quotes or newlines)")
    return text


def int_only(value: object) -> str:
    """A real integer, nothing else (Jinja's own ``int`` would turn garbage into 0)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UnsafeValueError(value, "is not an integer")
    return str(value)


def py_literal(value: object) -> str:
    """A Python literal (repr) of a scalar."""
    if isinstance(value, IdentifierList):
        return repr(str(value))
    if value is None or isinstance(value, bool | int | float | str):
        if isinstance(value, str) and "\x00" in value:
            raise UnsafeValueError(value, "contains a NUL byte")
        return repr(value)
    raise UnsafeValueError(value, f"the py filter only quotes scalars, not {type(value).__name__}")


QUOTING_FILTERS: dict[str, Callable[[object], str]] = {
    "shell": shell_quote,
    "sql_ident": sql_ident_quote,
    "sql_literal": sql_literal_quote,
    "yaml": yaml_quote,
    "nginx": nginx_quote,
    "ini": ini_value,
    "config": ini_value,
    "int": int_only,
    "py": py_literal,
}


def _finalize(value: object) -> object:
    if value is None:
        raise UnsafeValueError(
            value,
            "an optional variable without a value was printed; guard it with {% if %}",
        )
    return value


def make_environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters.update(QUOTING_FILTERS)
    return env


_ENV = make_environment()


# --- definition-time checks ---------------------------------------------------------------------

_FORBIDDEN_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Call,
    nodes.Include,
    nodes.Import,
    nodes.FromImport,
    nodes.Extends,
    nodes.Macro,
    nodes.CallBlock,
    nodes.FilterBlock,
)


def _check_output_expression(expr: nodes.Expr, *, language: str, types: Mapping[str, VariableType]) -> None:
    line = getattr(expr, "lineno", "?")
    if isinstance(expr, nodes.TemplateData | nodes.Const):
        return
    if isinstance(expr, nodes.Name):
        kind = types.get(expr.name)
        if kind in BARE_SAFE_TYPES:
            return
        raise TemplateDefinitionError(
            f"line {line}: {{{{ {expr.name} }}}} prints a value without quoting; use one of "
            f"{sorted(ALLOWED_FILTERS[language])} (bare output is only allowed for integer, number, port, "
            "quantity and duration variables)"
        )
    if isinstance(expr, nodes.Filter):
        if expr.name not in ALLOWED_FILTERS[language]:
            raise TemplateDefinitionError(
                f"line {line}: filter {expr.name!r} is not a quoting filter for {language} templates; "
                f"use one of {sorted(ALLOWED_FILTERS[language])} as the last filter"
            )
        if expr.args or expr.kwargs or expr.dyn_args or expr.dyn_kwargs:
            raise TemplateDefinitionError(f"line {line}: the {expr.name!r} filter takes no arguments")
        if not isinstance(expr.node, nodes.Name | nodes.Const):
            raise TemplateDefinitionError(
                f"line {line}: the {expr.name!r} filter must be applied directly to a variable"
            )
        return
    raise TemplateDefinitionError(
        f"line {line}: only '{{{{ variable | filter }}}}' may be printed, not a {type(expr).__name__} expression"
    )


def _check_jinja(source: str, *, language: str, specs: Sequence[VariableSpec], what: str) -> None:
    try:
        tree = _ENV.parse(source)
    except TemplateError as exc:
        raise TemplateDefinitionError(f"{what}: Jinja syntax error: {exc}") from None
    types = {spec.name: spec.variable_type for spec in specs}
    for node in tree.find_all(_FORBIDDEN_NODES):
        raise TemplateDefinitionError(f"{what}: line {node.lineno}: {type(node).__name__} is not allowed in templates")
    for output in tree.find_all(nodes.Output):
        for expr in output.nodes:
            try:
                _check_output_expression(expr, language=language, types=types)
            except TemplateDefinitionError as exc:
                raise TemplateDefinitionError(f"{what}: {exc}") from None
    from jinja2 import meta

    undeclared = meta.find_undeclared_variables(tree) - set(types)
    if undeclared:
        raise TemplateDefinitionError(f"{what}: uses undeclared variables {sorted(undeclared)}")
    for spec in specs:
        if spec.variable_type is VariableType.CONFIG_TEXT and spec.name in meta.find_undeclared_variables(tree):
            raise TemplateDefinitionError(f"{what}: {spec.name!r} holds a whole file and cannot be printed")


def _probe_values(
    specs: Sequence[VariableSpec],
) -> tuple[dict[str, object], dict[str, str]]:
    """Values that pass through the quoting filters and are easy to find in the output again."""
    values: dict[str, object] = {}
    probes: dict[str, str] = {}
    for index, spec in enumerate(specs):
        kind = spec.variable_type
        if kind in {VariableType.INTEGER, VariableType.PORT}:
            values[spec.name] = int(spec.minimum) if spec.minimum is not None else 7
        elif kind is VariableType.NUMBER:
            values[spec.name] = 7
        elif kind is VariableType.BOOLEAN:
            values[spec.name] = True
        elif kind in {VariableType.QUANTITY, VariableType.DURATION}:
            values[spec.name] = "7"
        elif kind is VariableType.CONFIG_TEXT:
            values[spec.name] = "probe: 1\n"
        else:
            probe = f"grprobe{index}x"
            probes[spec.name] = probe
            values[spec.name] = IdentifierList([probe]) if kind is VariableType.CSV_IDENTIFIERS else probe
    return values, probes


def _occurrences(text: str, needle: str) -> list[int]:
    return [match.start() for match in re.finditer(re.escape(needle), text)]


def _check_bash_probes(text: str, probes: Mapping[str, str]) -> None:
    try:
        import tree_sitter_bash
        from tree_sitter import Language, Parser
    except ImportError:  # pragma: no cover - both are project dependencies
        return
    parser = Parser(Language(tree_sitter_bash.language()))
    data = text.encode()
    tree = parser.parse(data)
    for name, probe in probes.items():
        for start in _occurrences(text, probe):
            byte_start = len(text[:start].encode())
            node = tree.root_node.descendant_for_byte_range(byte_start - 1, byte_start + len(probe) + 1)
            ok = node is not None and node.type == "raw_string" and node.text == f"'{probe}'".encode()
            ancestor = node.parent if node is not None else None
            # Walk up to the nearest command substitution (which starts a fresh quoting context):
            # a double-quoted string or heredoc around the single quotes makes them literal text.
            while ok and ancestor is not None and ancestor.type not in {"command_substitution", "process_substitution"}:
                if ancestor.type in {"string", "heredoc_body", "heredoc_redirect", "ERROR"}:
                    ok = False
                ancestor = ancestor.parent
            if tree.root_node.has_error:
                ok = False
            if not ok:
                raise TemplateDefinitionError(
                    f"variable {name!r} is printed where shell quoting does not protect it (inside double quotes, "
                    "a heredoc or another quoted string); assign it to a shell variable first"
                )


def _check_python_probes(text: str, probes: Mapping[str, str]) -> None:
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise TemplateDefinitionError(f"the python template does not parse: {exc}") from None
    constants = [
        node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    for name, probe in probes.items():
        if len(_occurrences(text, probe)) != constants.count(probe):
            raise TemplateDefinitionError(
                f"variable {name!r} is printed inside a larger string or comment; print it as its own literal"
            )


def _check_sql_probes(text: str, probes: Mapping[str, str]) -> None:
    from pglast import parser as pg_parser
    from pglast.parser import ParseError

    try:
        tokens = pg_parser.scan(text)
    except ParseError as exc:
        raise TemplateDefinitionError(f"the sql template does not scan: {exc}") from None
    for name, probe in probes.items():
        for start in _occurrences(text, probe):
            token = next(
                (tok for tok in tokens if tok.start <= start and start + len(probe) - 1 <= tok.end),
                None,
            )
            body = text[token.start : token.end + 1] if token is not None else ""
            exact = body in {f'"{probe}"', f"E'{probe}'"}
            if token is None or token.name not in {"IDENT", "SCONST"} or not exact:
                raise TemplateDefinitionError(
                    f"variable {name!r} is printed inside a comment, a $$ body or a larger literal; "
                    "print it as its own quoted identifier or literal"
                )


def _check_yaml_probes(text: str, probes: Mapping[str, str]) -> None:
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise TemplateDefinitionError(f"the kubernetes template is not valid YAML: {exc}") from None
    scalars: list[object] = []

    def walk(item: object) -> None:
        if isinstance(item, dict):
            for key, value in item.items():
                scalars.append(key)
                walk(value)
        elif isinstance(item, list):
            for value in item:
                walk(value)
        else:
            scalars.append(item)

    for document in documents:
        walk(document)
    for name, probe in probes.items():
        if len(_occurrences(text, probe)) != scalars.count(probe):
            raise TemplateDefinitionError(
                f"variable {name!r} is printed inside a larger YAML scalar or comment; print it as a whole value"
            )


_PROBE_CHECKS: dict[str, Callable[[str, Mapping[str, str]], None]] = {
    "bash": _check_bash_probes,
    "python": _check_python_probes,
    "sql": _check_sql_probes,
    "kubernetes": _check_yaml_probes,
}


def check_template_definition(
    *, content: str, rollback: str | None, language: str, specs: Sequence[VariableSpec]
) -> None:
    """Refuse a template that could print a variable unquoted or out of its quotes (see module doc)."""
    key = (content, rollback, language, tuple(specs))
    try:
        hash(key)
    except TypeError:  # a default or choice that is not hashable: check without the cache
        _check_template_definition(content=content, rollback=rollback, language=language, specs=specs)
        return
    _check_template_definition_cached(key)


@functools.lru_cache(maxsize=512)
def _check_template_definition_cached(key: tuple[str, str | None, str, tuple[VariableSpec, ...]]) -> None:
    content, rollback, language, specs = key
    _check_template_definition(content=content, rollback=rollback, language=language, specs=specs)


def _check_template_definition(
    *, content: str, rollback: str | None, language: str, specs: Sequence[VariableSpec]
) -> None:
    if language not in LANGUAGES:
        raise TemplateDefinitionError(f"unknown script language {language!r}; expected one of {list(LANGUAGES)}")
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise TemplateDefinitionError("a variable is declared twice")
    if language == "config_patch" and is_config_edit(content):
        edit = _parse_config_edit(content, specs)
        if rollback is not None and _yaml_kind(rollback) != CONFIG_EDIT_ROLLBACK_KIND:
            raise TemplateDefinitionError(
                f"a config_edit template's rollback must be 'kind: {CONFIG_EDIT_ROLLBACK_KIND}'"
            )
        del edit
        return
    for what, source in (("template", content), ("rollback", rollback)):
        if source is None:
            continue
        _check_jinja(source, language=language, specs=specs, what=what)
        check = _PROBE_CHECKS.get(language)
        if check is None:
            continue
        values, probes = _probe_values(specs)
        try:
            text = _ENV.from_string(source).render(values)
        except (TemplateError, UnsafeValueError) as exc:
            raise TemplateDefinitionError(f"{what}: does not render with probe values: {exc}") from None
        try:
            check(text, probes)
        except TemplateDefinitionError as exc:
            raise TemplateDefinitionError(f"{what}: {exc}") from None


# --- config_edit: declarative configuration patches ---------------------------------------------


@dataclass(frozen=True)
class ConfigEdit:
    """A parsed ``kind: config_edit`` document."""

    format: str
    path_variable: str
    source_variable: str
    edits: tuple[Mapping[str, Any], ...]


CONFIG_FORMATS = ("yaml", "ini", "keyvalue", "nginx", "auto")
_EDIT_FIELDS: dict[str, tuple[str, ...]] = {
    "set": ("key", "value"),
    "replace_upstream_server": ("upstream", "server", "port"),
}


def _yaml_kind(text: str) -> str | None:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return data.get("kind") if isinstance(data, dict) else None


def is_config_edit(content: str) -> bool:
    return _yaml_kind(content) == CONFIG_EDIT_KIND


def _parse_config_edit(content: str, specs: Sequence[VariableSpec]) -> ConfigEdit:
    data = yaml.safe_load(content)
    declared = {spec.name: spec for spec in specs}
    unknown = set(data) - {
        "kind",
        "format",
        "path_variable",
        "source_variable",
        "edits",
    }
    if unknown:
        raise TemplateDefinitionError(f"config_edit: unknown fields {sorted(unknown)}")
    fmt = data.get("format", "auto")
    if fmt not in CONFIG_FORMATS:
        raise TemplateDefinitionError(f"config_edit: format must be one of {list(CONFIG_FORMATS)}")
    path_variable = data.get("path_variable", "config_path")
    source_variable = data.get("source_variable", "current_config")
    if declared.get(path_variable) is None or declared[path_variable].variable_type is not VariableType.PATH:
        raise TemplateDefinitionError(f"config_edit: {path_variable!r} must be a declared path variable")
    if declared.get(source_variable) is None or declared[source_variable].variable_type is not VariableType.CONFIG_TEXT:
        raise TemplateDefinitionError(f"config_edit: {source_variable!r} must be a declared config_text variable")
    edits = data.get("edits")
    if not isinstance(edits, list) or not edits:
        raise TemplateDefinitionError("config_edit: 'edits' must be a non-empty list")
    for edit in edits:
        if not isinstance(edit, dict) or len(edit) != 1:
            raise TemplateDefinitionError("config_edit: each edit is a mapping with one action")
        ((action, args),) = edit.items()
        if action not in _EDIT_FIELDS:
            raise TemplateDefinitionError(f"config_edit: unknown action {action!r}; expected {sorted(_EDIT_FIELDS)}")
        if not isinstance(args, dict) or set(args) != set(_EDIT_FIELDS[action]):
            raise TemplateDefinitionError(f"config_edit: {action} takes {list(_EDIT_FIELDS[action])}")
        for field_name, variable in args.items():
            if variable not in declared:
                raise TemplateDefinitionError(
                    f"config_edit: {action}.{field_name} names undeclared variable {variable!r}"
                )
        if action == "replace_upstream_server" and fmt not in {"nginx", "auto"}:
            raise TemplateDefinitionError("config_edit: replace_upstream_server only applies to nginx files")
    return ConfigEdit(fmt, path_variable, source_variable, tuple(edits))


def _format_for(path: str, declared: str) -> str:
    if declared != "auto":
        return declared
    lowered = path.lower()
    if lowered.endswith((".yaml", ".yml")):
        return "yaml"
    if lowered.endswith((".ini", ".cfg")):
        return "ini"
    if "/nginx/" in lowered:
        return "nginx"
    if lowered.endswith((".conf", ".properties", ".env")):
        return "keyvalue"
    raise TemplateRenderError(f"cannot tell the format of {path!r}; the template must name it")


def _yaml_scalar(value: object) -> str:
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    text = str(value)
    if re.fullmatch(r"[A-Za-z0-9_./][A-Za-z0-9_./:-]*", text) and yaml.safe_load(text) == text:
        return text
    return json.dumps(text, ensure_ascii=True)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _yaml_set(text: str, dotted_key: str, value: object) -> str:
    """Set a dotted key in YAML text by editing lines, so comments and layout survive."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    keys = dotted_key.split(".")
    start, end, parent_indent = 0, len(lines), -1
    for depth, key in enumerate(keys):
        child_indent: int | None = None
        found: int | None = None
        for i in range(start, end):
            if not _is_content(lines[i]):
                continue
            indent = _indent(lines[i])
            if child_indent is None:
                child_indent = indent
            if indent == child_indent and re.match(rf"\s*{re.escape(key)}\s*:(\s|$)", lines[i]):
                found = i
                break
        if found is None:
            base = child_indent if child_indent is not None else parent_indent + 2
            insert_at = end
            while insert_at > start and not _is_content(lines[insert_at - 1]):
                insert_at -= 1
            new_lines = []
            for offset, missing_key in enumerate(keys[depth:]):
                prefix = " " * (max(base, 0) + 2 * offset)
                last = depth + offset == len(keys) - 1
                new_lines.append(
                    f"{prefix}{missing_key}: {_yaml_scalar(value)}\n" if last else f"{prefix}{missing_key}:\n"
                )
            lines[insert_at:insert_at] = new_lines
            return "".join(lines)
        line = lines[found]
        indent = _indent(line)
        block_end = found + 1
        while block_end < end and (not _is_content(lines[block_end]) or _indent(lines[block_end]) > indent):
            block_end += 1
        if depth == len(keys) - 1:
            match = re.match(rf"(\s*{re.escape(key)}\s*:)\s*([^#\n]*?)(\s+#.*)?$", line.rstrip("\n"))
            assert match is not None
            if not match.group(2) and any(_is_content(lines[i]) for i in range(found + 1, block_end)):
                raise TemplateRenderError(f"{dotted_key!r} holds a mapping or list, not a single value")
            lines[found] = f"{match.group(1)} {_yaml_scalar(value)}{match.group(3) or ''}\n"
            return "".join(lines)
        start, end, parent_indent = found + 1, block_end, indent
    raise AssertionError("unreachable")


def _set_in(document: Any, dotted_key: str, value: object) -> Any:
    document = copy.deepcopy(document) if document is not None else {}
    node = document
    keys = dotted_key.split(".")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    return document


def _ini_set(text: str, dotted_key: str, value: str, *, sections: bool) -> str:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    section, _, key = dotted_key.rpartition(".") if sections else ("", "", dotted_key)
    if sections and not section:
        raise TemplateRenderError(f"INI key {dotted_key!r} must be 'section.key'")
    start, end = 0, len(lines)
    if sections:
        header = next((i for i, line in enumerate(lines) if line.strip() == f"[{section}]"), None)
        if header is None:
            suffix = "" if not lines or not lines[-1].strip() else "\n"
            return "".join(lines) + f"{suffix}[{section}]\n{key} = {value}\n"
        start = header + 1
        end = next(
            (i for i in range(start, len(lines)) if lines[i].lstrip().startswith("[")),
            len(lines),
        )
    pattern = re.compile(rf"(\s*{re.escape(key)}\s*)([=:])(\s*)[^\n]*")
    hits = [i for i in range(start, end) if pattern.fullmatch(lines[i].rstrip("\n"))]
    if hits:
        for i in hits:
            match = pattern.fullmatch(lines[i].rstrip("\n"))
            assert match is not None
            lines[i] = f"{match.group(1)}{match.group(2)}{match.group(3) or ' '}{value}\n"
        return "".join(lines)
    insert_at = end
    while insert_at > start and not lines[insert_at - 1].strip():
        insert_at -= 1
    lines[insert_at:insert_at] = [f"{key} = {value}\n"]
    return "".join(lines)


_NGINX_DIRECTIVE = re.compile(r"[a-z_][a-z0-9_]{0,63}")


def _nginx_value(value: object) -> str:
    quoted = nginx_quote(value)
    inner = quoted[1:-1]
    return inner if re.fullmatch(r"[A-Za-z0-9._:/-]+", inner) else quoted


def _nginx_active_lines(lines: list[str]) -> list[str]:
    """Each line with its comment removed (nginx comments run from '#' to end of line outside quotes)."""
    return [re.sub(r"#.*$", "", line.rstrip("\n")) for line in lines]


def _nginx_set(text: str, directive: str, value: object) -> str:
    if not _NGINX_DIRECTIVE.fullmatch(directive):
        raise TemplateRenderError(f"{directive!r} is not an nginx directive name")
    lines = text.splitlines(keepends=True)
    active = _nginx_active_lines(lines)
    pattern = re.compile(rf"(\s*{directive}\s+)[^;{{}}]*;(.*)")
    hits = [i for i, line in enumerate(active) if pattern.fullmatch(line)]
    if len(hits) > 1:
        raise TemplateRenderError(
            f"{directive!r} is set {len(hits)} times in the file; this template only changes a single setting"
        )
    if hits:
        i = hits[0]
        match = pattern.fullmatch(active[i])
        assert match is not None
        comment = lines[i].rstrip("\n")[len(active[i]) :]
        lines[i] = f"{match.group(1)}{_nginx_value(value)};{match.group(2)}{comment}\n"
        return "".join(lines)
    server = next(
        (i for i, line in enumerate(active) if re.fullmatch(r"\s*server\s*\{\s*", line)),
        None,
    )
    if server is None:
        raise TemplateRenderError(f"{directive!r} is not set and the file has no server block to add it to")
    indent = " " * (_indent(lines[server]) + 4)
    lines[server + 1 : server + 1] = [f"{indent}{directive} {_nginx_value(value)};\n"]
    return "".join(lines)


def _nginx_replace_upstream_server(text: str, upstream: str, server: str, port: int) -> str:
    lines = text.splitlines(keepends=True)
    active = _nginx_active_lines(lines)
    opening = next(
        (i for i, line in enumerate(active) if re.fullmatch(rf"\s*upstream\s+{re.escape(upstream)}\s*\{{\s*", line)),
        None,
    )
    if opening is None:
        raise TemplateRenderError(f"the file has no 'upstream {upstream} {{' block")
    depth, close = 0, None
    for i in range(opening, len(active)):
        depth += active[i].count("{") - active[i].count("}")
        if depth == 0:
            close = i
            break
    if close is None:
        raise TemplateRenderError(f"the upstream {upstream!r} block is not closed")
    pattern = re.compile(r"(\s*server\s+)([^\s;]+)([^;]*;.*)")
    candidates = [i for i in range(opening + 1, close) if pattern.fullmatch(active[i])]
    if not candidates:
        raise TemplateRenderError(f"upstream {upstream!r} has no server line")

    def host_of(i: int) -> str:
        match = pattern.fullmatch(active[i])
        assert match is not None
        address = match.group(2)
        return address.rsplit(":", 1)[0] if address.count(":") == 1 or address.startswith("[") else address

    same_host = [i for i in candidates if host_of(i) == server]
    if len(same_host) == 1:
        target = same_host[0]
    elif len(candidates) == 1:
        target = candidates[0]
    else:
        raise TemplateRenderError(f"upstream {upstream!r} has several servers and none is exactly {server!r}")
    match = pattern.fullmatch(active[target])
    assert match is not None
    host = f"[{server}]" if ":" in server else server
    comment = lines[target].rstrip("\n")[len(active[target]) :]
    lines[target] = f"{match.group(1)}{host}:{port}{match.group(3)}{comment}\n"
    return "".join(lines)


def _nginx_balanced(text: str) -> bool:
    depth = 0
    for line in _nginx_active_lines(text.splitlines()):
        depth += line.count("{") - line.count("}")
        if depth < 0:
            return False
    return depth == 0


def unified_diff(old: str, new: str, path: str) -> str:
    """A unified diff with ``a/`` and ``b/`` headers for ``path`` (absolute path minus its leading '/')."""
    relative = path.lstrip("/")
    out: list[str] = []
    for line in difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        f"a/{relative}",
        f"b/{relative}",
        n=3,
    ):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _apply_edits(edit: ConfigEdit, values: Mapping[str, object], old: str, path: str) -> str:
    fmt = _format_for(path, edit.format)
    new = old
    for item in edit.edits:
        ((action, args),) = item.items()
        if action == "set":
            key, value = str(values[args["key"]]), values[args["value"]]
            if value is None:
                raise VariableError(args["value"], "is required but has no value")
            if fmt == "yaml":
                new = _yaml_set(new, key, value)
            elif fmt in {"ini", "keyvalue"}:
                new = _ini_set(new, key, ini_value(value), sections=fmt == "ini")
            else:
                new = _nginx_set(new, key, value)
        else:
            port = values[args["port"]]
            if isinstance(port, bool) or not isinstance(port, int):
                raise VariableError(args["port"], "must be an integer port")
            new = _nginx_replace_upstream_server(new, str(values[args["upstream"]]), str(values[args["server"]]), port)
    _verify_edit(fmt, edit, values, old, new)
    return new


def _verify_edit(fmt: str, edit: ConfigEdit, values: Mapping[str, object], old: str, new: str) -> None:
    """Re-read the edited file with a real parser: the edit must do exactly what it says and no more."""
    if fmt == "yaml":
        try:
            before, after = yaml.safe_load(old), yaml.safe_load(new)
        except yaml.YAMLError as exc:
            raise TemplateRenderError(f"the current configuration is not valid YAML: {exc}") from None
        expected = before
        for item in edit.edits:
            args = item["set"]
            expected = _set_in(expected, str(values[args["key"]]), values[args["value"]])
        if after != expected:
            raise TemplateRenderError("the YAML edit did not produce the expected document; refusing the patch")
    elif fmt == "ini":
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(new)
        except configparser.Error as exc:
            raise TemplateRenderError(f"the edited INI file does not parse: {exc}") from None
    elif fmt == "nginx" and not _nginx_balanced(new):
        raise TemplateRenderError("the edited nginx file has unbalanced braces")


def render_config_edit(
    *,
    content: str,
    rollback: str | None,
    specs: Sequence[VariableSpec],
    values: Mapping[str, object],
) -> RenderedScript:
    """Apply a ``config_edit`` document to ``current_config``; the script is the unified diff.

    The rollback (when the template declares ``kind: config_edit_rollback``) is the reverse diff.
    """
    edit = _parse_config_edit(content, specs)
    old = values.get(edit.source_variable)
    if old is None:
        raise VariableError(
            edit.source_variable,
            "is required but has no value: a configuration patch needs the current file text "
            "(parameters.current_config in the RCA, or supplied by the agent)",
        )
    path = str(values[edit.path_variable])
    new = _apply_edits(edit, values, str(old), path)
    if new == old:
        raise TemplateRenderError("the configuration already has the requested values; there is nothing to change")
    script = unified_diff(str(old), new, path)
    rollback_text = unified_diff(new, str(old), path) if rollback is not None else None
    return RenderedScript(script=script, rollback=rollback_text, language="config_patch")


# --- rendering ----------------------------------------------------------------------------------


def coerce_all(specs: Sequence[VariableSpec], values: Mapping[str, object]) -> dict[str, object]:
    """Validate every declared value (defaults filled in); raises VariableError naming the first problem."""
    out: dict[str, object] = {}
    missing: list[str] = []
    for spec in specs:
        raw = values.get(spec.name)
        if raw is None or raw == "":
            if spec.default is not None:
                out[spec.name] = coerce_value(spec, spec.default)
            elif spec.required:
                missing.append(spec.name)
            else:
                out[spec.name] = None
            continue
        out[spec.name] = coerce_value(spec, raw)
    if missing:
        others = f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""
        raise VariableError(missing[0], f"is required but has no value{others}")
    return out


def _render_jinja(source: str, values: Mapping[str, object], what: str) -> str:
    try:
        text = _ENV.from_string(source).render(dict(values))
    except UnsafeValueError as exc:
        names = [name for name, value in values.items() if value is exc.value and value is not None]
        names = names or [name for name, value in values.items() if value == exc.value and value is not None]
        raise VariableError(names[0] if names else "?", exc.reason) from None
    except TemplateError as exc:
        raise TemplateRenderError(f"{what} failed to render: {exc}") from None
    if not text.endswith("\n"):
        text += "\n"
    return text


def render_template(
    *,
    content: str,
    rollback: str | None,
    language: str,
    specs: Sequence[VariableSpec],
    values: Mapping[str, object],
) -> RenderedScript:
    """Render a template with validated, quoted values; raises VariableError or TemplateRenderError.

    The template itself is checked first (:func:`check_template_definition`); a definition problem
    is reported as TemplateRenderError so that callers handle one error type for a broken template.
    """
    try:
        check_template_definition(content=content, rollback=rollback, language=language, specs=specs)
    except TemplateDefinitionError as exc:
        raise TemplateRenderError(f"the template is not safe to render: {exc}") from None
    clean = coerce_all(specs, values)
    if language == "config_patch" and is_config_edit(content):
        return render_config_edit(content=content, rollback=rollback, specs=specs, values=clean)
    script = _render_jinja(content, clean, "template")
    rollback_text = _render_jinja(rollback, clean, "rollback") if rollback is not None else None
    return RenderedScript(script=script, rollback=rollback_text, language=language)


__all__ = [
    "ALLOWED_FILTERS",
    "LANGUAGES",
    "QUOTING_FILTERS",
    "RenderedScript",
    "TemplateRenderError",
    "UnsafeValueError",
    "check_template_definition",
    "coerce_all",
    "is_config_edit",
    "render_config_edit",
    "render_template",
    "unified_diff",
]
