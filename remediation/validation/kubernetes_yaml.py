"""Safe, bounded loading of Kubernetes manifests (multi-document YAML or JSON).

PyYAML's own loaders are not enough for policy checks: they silently keep the last of two
duplicate keys (the API server may see the other one), they expand aliases without limit when a
walker later traverses the shared objects (billion laughs), and the recursive composer dies on
deep nesting. This loader refuses all three before any policy runs, and records the source line of
every mapping and key so findings can point at the line a reviewer must read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

#: Manifests with more documents than this are refused (a remediation touches a handful).
MAX_DOCUMENTS = 100
#: Real manifests nest about 15 levels deep; 64 leaves room for CRDs without risking recursion.
MAX_DEPTH = 64
#: Remediation manifests rarely use aliases at all; a bomb needs many.
MAX_ALIASES = 100
#: Nodes after alias expansion, per stream; a billion-laughs document blows past this at once.
MAX_EXPANDED_NODES = 200_000


class ManifestLoadError(Exception):
    """The text cannot be loaded safely; ``rule_id`` says why, ``line`` where (1-based)."""

    def __init__(self, rule_id: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.rule_id = rule_id
        self.message = message
        self.line = line


class LineDict(dict[Any, Any]):
    """A mapping that remembers the line it starts on and the line of each key."""

    line: int
    key_lines: dict[Any, int]


class LineList(list[Any]):
    """A sequence that remembers the line it starts on and the line of each item."""

    line: int
    item_lines: list[int]


@dataclass(frozen=True, slots=True)
class LoadedDocument:
    """One top-level document of the stream, ``data`` already free of anchors and merge keys."""

    data: Any
    line: int


class _BoundedComposer(Composer):
    """Composer that refuses deep nesting and alias floods while the node graph is built.

    Counting happens as the parser emits events, so a bomb is refused before any alias is
    expanded and before the recursive composer can run out of stack.
    """

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0
        self.alias_count = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(AliasEvent):  # type: ignore[attr-defined]
            self.alias_count += 1
            if self.alias_count > MAX_ALIASES:
                event = self.peek_event()  # type: ignore[attr-defined]
                raise ManifestLoadError(
                    "syntax.yaml_bomb",
                    f"More than {MAX_ALIASES} YAML aliases: refused as a possible alias bomb.",
                    event.start_mark.line + 1,
                )
        nests = self.check_event(MappingStartEvent, SequenceStartEvent)  # type: ignore[attr-defined]
        if nests:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                event = self.peek_event()  # type: ignore[attr-defined]
                raise ManifestLoadError(
                    "syntax.yaml_too_deep",
                    f"YAML nesting deeper than {MAX_DEPTH} levels is refused.",
                    event.start_mark.line + 1,
                )
        try:
            return super().compose_node(parent, index)  # type: ignore[no-any-return,return-value]
        finally:
            if nests:
                self._depth -= 1


class _StrictConstructor(SafeConstructor):
    """SafeConstructor that rejects duplicate keys and records source lines."""

    def construct_line_mapping(self, node: MappingNode) -> Any:
        data = LineDict()
        data.line = node.start_mark.line + 1
        data.key_lines = {}
        yield data
        seen: dict[Any, int] = {}
        for key_node, _value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError as exc:
                raise ConstructorError(None, None, "found an unhashable mapping key", key_node.start_mark) from exc
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ManifestLoadError(
                    "syntax.yaml_duplicate_key",
                    f"Duplicate key {str(key)[:60]!r} (first on line {seen[key]}): parsers disagree on which wins.",
                    line,
                )
            seen[key] = line
        # flatten_mapping resolves merge keys (<<) in place; explicit keys then override merged ones.
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            data[key] = self.construct_object(value_node, deep=True)
            data.key_lines.setdefault(key, key_node.start_mark.line + 1)

    def construct_line_sequence(self, node: SequenceNode) -> Any:
        data = LineList()
        data.line = node.start_mark.line + 1
        data.item_lines = [item.start_mark.line + 1 for item in node.value]
        yield data
        data.extend(self.construct_object(item, deep=True) for item in node.value)


_StrictConstructor.add_constructor("tag:yaml.org,2002:map", _StrictConstructor.construct_line_mapping)  # type: ignore[type-var]
_StrictConstructor.add_constructor("tag:yaml.org,2002:seq", _StrictConstructor.construct_line_sequence)  # type: ignore[type-var]


class _ManifestLoader(Reader, Scanner, Parser, _BoundedComposer, _StrictConstructor, Resolver):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        _BoundedComposer.__init__(self)
        _StrictConstructor.__init__(self)
        Resolver.__init__(self)


def _expanded_size(node: Node, memo: dict[int, int]) -> int:
    """Number of nodes once every alias is expanded (aliases share node objects, hence the memo)."""
    known = memo.get(id(node))
    if known is not None:
        return known
    memo[id(node)] = MAX_EXPANDED_NODES + 1  # a node that reaches itself is a recursive alias: refuse
    size = 1
    if isinstance(node, SequenceNode):
        size += sum(_expanded_size(child, memo) for child in node.value)
    elif isinstance(node, MappingNode):
        size += sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    memo[id(node)] = min(size, MAX_EXPANDED_NODES + 1)
    return memo[id(node)]


def _load_yaml(text: str) -> list[LoadedDocument]:
    documents: list[LoadedDocument] = []
    total_nodes = 0
    memo: dict[int, int] = {}
    loader: _ManifestLoader | None = None
    try:
        loader = _ManifestLoader(text)  # the reader already refuses non-printable characters
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if len(documents) >= MAX_DOCUMENTS:
                raise ManifestLoadError(
                    "syntax.too_many_documents",
                    f"More than {MAX_DOCUMENTS} YAML documents in one manifest.",
                    node.start_mark.line + 1,
                )
            total_nodes += _expanded_size(node, memo)
            if total_nodes > MAX_EXPANDED_NODES:
                raise ManifestLoadError(
                    "syntax.yaml_bomb",
                    f"The manifest expands to more than {MAX_EXPANDED_NODES} nodes through aliases.",
                    node.start_mark.line + 1,
                )
            data = loader.construct_document(node)
            documents.append(LoadedDocument(data=data, line=node.start_mark.line + 1))
    except ManifestLoadError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or str(exc)
        raise ManifestLoadError("syntax.yaml", f"YAML does not parse: {problem}.", line) from exc
    except yaml.YAMLError as exc:
        raise ManifestLoadError("syntax.yaml", f"YAML does not parse: {exc}.") from exc
    except RecursionError as exc:  # belt and braces; MAX_DEPTH should stop this first
        raise ManifestLoadError("syntax.yaml_too_deep", "The manifest nests too deeply to load.") from exc
    finally:
        if loader is not None:
            loader.dispose()
    return documents


def _reject_duplicate_json_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ManifestLoadError(
                "syntax.yaml_duplicate_key",
                f"Duplicate JSON key {key[:60]!r}: parsers disagree on which wins.",
            )
        result[key] = value
    return result


def _json_depth_ok(text: str) -> bool:
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return False
        elif char in "]}":
            depth -= 1
    return True


def load_manifests(text: str) -> list[LoadedDocument]:
    """Load every non-empty document of ``text``; raise :class:`ManifestLoadError` when unsafe."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        # JSON first: it is a YAML subset in theory, but tab indentation and some escapes are not.
        if not _json_depth_ok(stripped):
            raise ManifestLoadError(
                "syntax.yaml_too_deep",
                f"JSON nesting deeper than {MAX_DEPTH} levels is refused.",
            )
        try:
            data = json.loads(text, object_pairs_hook=_reject_duplicate_json_keys)
        except json.JSONDecodeError:
            pass  # could be YAML flow style; the YAML loader reports the real problem
        except RecursionError as exc:
            raise ManifestLoadError("syntax.yaml_too_deep", "The manifest nests too deeply to load.") from exc
        else:
            documents = data if isinstance(data, list) else [data]
            return [LoadedDocument(data=doc, line=1) for doc in documents if doc is not None]
    return [doc for doc in _load_yaml(text) if doc.data is not None]


def line_of(document: Any, path: tuple[Any, ...] | list[Any], default: int | None = None) -> int | None:
    """Best source line for ``path`` inside ``document`` (the deepest step that has one)."""
    line = getattr(document, "line", default)
    node = document
    for step in path:
        if isinstance(node, LineDict) and step in node:
            line = node.key_lines.get(step, line)
            node = node[step]
        elif isinstance(node, LineList) and isinstance(step, int) and 0 <= step < len(node):
            line = node.item_lines[step] if step < len(node.item_lines) else line
            node = node[step]
        elif (isinstance(node, dict) and step in node) or (
            isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        ):
            node = node[step]
        else:
            break
    return line


def pyyaml_version() -> str:
    return str(yaml.__version__)


__all__ = [
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_DOCUMENTS",
    "LineDict",
    "LineList",
    "LoadedDocument",
    "ManifestLoadError",
    "ScalarNode",
    "line_of",
    "load_manifests",
    "pyyaml_version",
]
