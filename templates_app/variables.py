"""Typed template variables: declaration, validation of untrusted values, resolution from an RCA.

Everything an RCA carries is untrusted (its text may come from attacker-written log lines). A
template therefore never receives a raw value: each variable declares a type (and optionally an
extra regex, bounds or choices), and :func:`coerce_value` either returns a normalised value of
that type or raises :class:`VariableError` naming the variable and the reason. A refused value is
never rendered. Quoting at render time (see ``templates_app.rendering``) is the second, independent
line of defence.

This module is pure Python: the agent SDK imports it on hosts without Django.
"""

from __future__ import annotations

import ipaddress
import math
import posixpath
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Self
from urllib.parse import urlsplit


class TemplateDefinitionError(ValueError):
    """A template or variable declaration is wrong (an author's mistake, found before rendering)."""


class VariableError(ValueError):
    """A value for a variable was refused (or is missing); it is never rendered."""

    def __init__(self, variable: str, reason: str) -> None:
        super().__init__(f"variable {variable!r}: {reason}")
        self.variable = variable
        self.reason = reason


class VariableType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    IDENTIFIER = "identifier"
    K8S_NAME = "k8s_name"
    K8S_LABEL = "k8s_label"
    K8S_NAMESPACE = "k8s_namespace"
    PATH = "path"
    QUANTITY = "quantity"
    DURATION = "duration"
    HOSTNAME = "hostname"
    IP = "ip"
    PORT = "port"
    URL = "url"
    SQL_IDENTIFIER = "sql_identifier"
    SYSTEMD_UNIT = "systemd_unit"
    PROCESS_NAME = "process_name"
    IMAGE = "image"
    SETTING_KEY = "setting_key"
    CONFIG_VALUE = "config_value"
    LOG_LEVEL = "log_level"
    ENUM = "enum"
    CSV_IDENTIFIERS = "csv_identifiers"
    #: The text of a configuration file (for config patches); multi-line, never pasted into a script.
    CONFIG_TEXT = "config_text"


#: Types whose validated values are a single token of ``[0-9A-Za-z.]`` characters: they may appear in
#: a template without a quoting filter (``{{ replicas }}``), in every language. See docs/templates.md.
BARE_SAFE_TYPES: frozenset[VariableType] = frozenset(
    {
        VariableType.INTEGER,
        VariableType.NUMBER,
        VariableType.PORT,
        VariableType.QUANTITY,
        VariableType.DURATION,
    }
)

#: Bare top-level system directories (and a few second-level ones) that a ``path`` variable refuses
#: unless it sets ``allow_system_paths``: a cleanup scoped to ``/var`` is never what an RCA meant.
SYSTEM_DIRECTORIES: frozenset[str] = frozenset(
    {
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/media",
        "/mnt",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/snap",
        "/srv",
        "/sys",
        "/tmp",
        "/usr",
        "/usr/bin",
        "/usr/lib",
        "/usr/local",
        "/usr/sbin",
        "/usr/share",
        "/var",
        "/var/cache",
        "/var/lib",
        "/var/log",
        "/var/run",
        "/var/spool",
        "/var/tmp",
        "/etc/nginx",
        "/etc/systemd",
        "/etc/ssl",
        "/var/lib/postgresql",
    }
)

LOG_LEVELS: tuple[str, ...] = (
    "TRACE",
    "DEBUG",
    "INFO",
    "NOTICE",
    "WARN",
    "WARNING",
    "ERROR",
    "CRITICAL",
    "FATAL",
)

MAX_STRING_LENGTH = 256
MAX_CONFIG_TEXT_BYTES = 256 * 1024

_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
_RE = {
    VariableType.IDENTIFIER: re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}"),
    VariableType.K8S_NAME: re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*"),
    VariableType.K8S_LABEL: re.compile(_DNS_LABEL),
    VariableType.K8S_NAMESPACE: re.compile(_DNS_LABEL),
    VariableType.QUANTITY: re.compile(r"(?:[0-9]{1,12})(?:\.[0-9]{1,6})?(?:m|k|Ki|Mi|Gi|Ti|Pi|Ei|M|G|T|P|E)?"),
    VariableType.DURATION: re.compile(r"(?:[0-9]{1,9}(?:ms|s|m|h|d)){1,4}"),
    VariableType.SQL_IDENTIFIER: re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}"),
    VariableType.SYSTEMD_UNIT: re.compile(
        r"[A-Za-z0-9_][A-Za-z0-9:_.@-]{0,240}(?:\.(?:service|socket|timer|target|mount|path|slice|scope))?"
    ),
    VariableType.PROCESS_NAME: re.compile(r"[A-Za-z0-9_][A-Za-z0-9._:+-]{0,63}"),
    VariableType.IMAGE: re.compile(
        r"(?:(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::[0-9]{1,5})?/)?"
        r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
        r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?"
    ),
    VariableType.SETTING_KEY: re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}(?:\.[A-Za-z_][A-Za-z0-9_-]{0,63}){0,7}"),
    VariableType.CONFIG_VALUE: re.compile(
        r"[A-Za-z0-9._:/@+=,%*-](?:[A-Za-z0-9 ._:/@+=,%*-]{0,254}[A-Za-z0-9._:/@+=,%*-])?"
    ),
}
_PATH_CHARS = re.compile(r"/[A-Za-z0-9._@+=,:/-]{0,1023}")
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]{1,18}")
_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]{1,18}(?:\.[0-9]{1,12})?|\.[0-9]{1,12})")
_URL_CHARS = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!&()*+,;=%-]{1,2048}")
_BOOLEAN_WORDS = {
    "true": True,
    "yes": True,
    "on": True,
    "1": True,
    "false": False,
    "no": False,
    "off": False,
    "0": False,
}


class IdentifierList(str):
    """A validated comma-separated list of SQL identifiers, e.g. ``customer_id,created_at``.

    It is a ``str`` (so it prints as the normalised list) and remembers its items, so the
    ``sql_ident`` filter can quote each identifier separately: ``"customer_id", "created_at"``.
    """

    items: tuple[str, ...]

    def __new__(cls, items: Sequence[str]) -> Self:
        obj = super().__new__(cls, ",".join(items))
        obj.items = tuple(items)
        return obj


@dataclass(frozen=True)
class VariableSpec:
    """One declared template variable; ``from_dict`` reads the JSON/YAML form stored with a template."""

    name: str
    type: VariableType | str
    required: bool = True
    default: object = None
    pattern: str | None = None
    #: Where the value comes from in the RCA: a path such as ``parameters.namespace`` or
    #: ``affected_components[kind=Deployment].name``; several alternatives separated by `` | ``
    #: are tried in order. ``None`` means ``parameters.<name>``.
    source: str | None = None
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[object, ...] | None = None
    allow_system_paths: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", self.name):
            raise TemplateDefinitionError(f"variable name {self.name!r} must be a lower-case identifier")
        try:
            object.__setattr__(self, "type", VariableType(self.type))
        except ValueError:
            raise TemplateDefinitionError(f"variable {self.name!r}: unknown type {self.type!r}") from None
        if self.choices is not None:
            object.__setattr__(self, "choices", tuple(self.choices))
        if self.type is VariableType.ENUM and not self.choices:
            raise TemplateDefinitionError(f"variable {self.name!r}: an enum needs a non-empty 'choices' list")
        if self.pattern is not None:
            if not isinstance(self.pattern, str):
                raise TemplateDefinitionError(f"variable {self.name!r}: pattern must be a string")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise TemplateDefinitionError(f"variable {self.name!r}: bad pattern: {exc}") from None
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise TemplateDefinitionError(f"variable {self.name!r}: minimum is greater than maximum")
        if self.source is not None:
            for alternative in _split_sources(self.source):
                try:
                    _parse_source(alternative)
                except ValueError as exc:
                    raise TemplateDefinitionError(f"variable {self.name!r}: {exc}") from None
        if self.default is not None:
            try:
                coerce_value(self, self.default)
            except VariableError as exc:
                raise TemplateDefinitionError(f"variable {self.name!r}: default is invalid: {exc.reason}") from None

    @property
    def variable_type(self) -> VariableType:
        return VariableType(self.type)

    @property
    def sources(self) -> list[str]:
        return _split_sources(self.source) if self.source else [f"parameters.{self.name}"]

    _FIELDS = (
        "name",
        "type",
        "required",
        "default",
        "pattern",
        "source",
        "description",
        "minimum",
        "maximum",
        "choices",
        "allow_system_paths",
    )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VariableSpec:
        if not isinstance(data, Mapping):
            raise TemplateDefinitionError(f"a variable declaration must be a mapping, not {type(data).__name__}")
        aliases = {"min": "minimum", "max": "maximum"}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            key = aliases.get(key, key)
            if key not in cls._FIELDS:
                raise TemplateDefinitionError(f"variable {data.get('name')!r}: unknown field {key!r}")
            kwargs[key] = value
        for needed in ("name", "type"):
            if needed not in kwargs:
                raise TemplateDefinitionError(f"variable declaration {dict(data)!r} lacks {needed!r}")
        if "choices" in kwargs and kwargs["choices"] is not None and not isinstance(kwargs["choices"], list | tuple):
            raise TemplateDefinitionError(f"variable {kwargs['name']!r}: choices must be a list")
        for bool_field in ("required", "allow_system_paths"):
            if bool_field in kwargs and not isinstance(kwargs[bool_field], bool):
                raise TemplateDefinitionError(f"variable {kwargs['name']!r}: {bool_field} must be true or false")
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-serialisable form (inverse of :meth:`from_dict`), for storing with a template version."""
        out: dict[str, Any] = {
            "name": self.name,
            "type": str(self.type),
            "required": self.required,
        }
        for key in ("default", "pattern", "source", "minimum", "maximum"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.description:
            out["description"] = self.description
        if self.choices is not None:
            out["choices"] = list(self.choices)
        if self.allow_system_paths:
            out["allow_system_paths"] = True
        return out


# --- value checks -------------------------------------------------------------------------------


def _text(spec: VariableSpec, raw: object, *, max_length: int = MAX_STRING_LENGTH) -> str:
    """The raw value as clean, printable, bounded text, or a VariableError."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise VariableError(spec.name, f"expected text, got {type(raw).__name__}")
    text = str(raw)
    if not text:
        raise VariableError(spec.name, "is empty")
    if len(text) > max_length:
        raise VariableError(spec.name, f"is longer than {max_length} characters")
    for char in text:
        category = unicodedata.category(char)
        # Cc: control characters (newline, NUL, ESC); Cf: invisible format characters (zero-width
        # joiners, bidi overrides used for Trojan-Source tricks); Cs/Co/Cn: surrogates, private, unassigned.
        if category in {"Cc", "Cf", "Cs", "Co", "Cn"} or char in "\u2028\u2029":
            raise VariableError(
                spec.name,
                f"contains a control or invisible character (U+{ord(char):04X})",
            )
    return text


def _match(spec: VariableSpec, kind: str, text: str) -> str:
    regex = _RE[spec.variable_type]
    if not regex.fullmatch(text):
        raise VariableError(spec.name, f"{text!r} is not a valid {kind}")
    return text


def _bounded(spec: VariableSpec, number: float) -> None:
    if spec.minimum is not None and number < spec.minimum:
        raise VariableError(spec.name, f"{number} is below the minimum {spec.minimum}")
    if spec.maximum is not None and number > spec.maximum:
        raise VariableError(spec.name, f"{number} is above the maximum {spec.maximum}")


def _integer(spec: VariableSpec, raw: object) -> int:
    if isinstance(raw, bool):
        raise VariableError(spec.name, "expected an integer, got a boolean")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float):
        if not raw.is_integer():
            raise VariableError(spec.name, f"{raw} is not a whole number")
        value = int(raw)
    elif isinstance(raw, str) and _INTEGER_TEXT.fullmatch(raw.strip()):
        value = int(raw.strip())
    else:
        raise VariableError(spec.name, f"{_shown(raw)} is not an integer")
    if abs(value) > 10**18:
        raise VariableError(spec.name, "is out of range")
    _bounded(spec, value)
    return value


def _number(spec: VariableSpec, raw: object) -> int | float:
    if isinstance(raw, bool):
        raise VariableError(spec.name, "expected a number, got a boolean")
    if isinstance(raw, int):
        value: int | float = raw
    elif isinstance(raw, float):
        value = raw
    elif isinstance(raw, str) and _NUMBER_TEXT.fullmatch(raw.strip()):
        value = float(raw.strip())
    else:
        raise VariableError(spec.name, f"{_shown(raw)} is not a number")
    if isinstance(value, float) and (not math.isfinite(value) or abs(value) > 1e15):
        raise VariableError(spec.name, "is not a finite number in range")
    _bounded(spec, value)
    return value


def _boolean(spec: VariableSpec, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in _BOOLEAN_WORDS:
        return _BOOLEAN_WORDS[raw.strip().lower()]
    raise VariableError(spec.name, f"{_shown(raw)} is not a boolean")


def _path(spec: VariableSpec, raw: object) -> str:
    text = _text(spec, raw, max_length=1024)
    if not text.startswith("/"):
        raise VariableError(spec.name, "must be an absolute path")
    if any(char in text for char in "*?[]{}~"):
        raise VariableError(spec.name, "must not contain glob characters")
    segments = text.split("/")[1:]
    if any(segment in {".", ".."} for segment in segments):
        raise VariableError(spec.name, "must not contain '.' or '..' segments")
    if posixpath.normpath(text) != text or "//" in text:
        raise VariableError(
            spec.name,
            f"{text!r} is not a normalised path (no '//' and no trailing '/')",
        )
    if not _PATH_CHARS.fullmatch(text):
        raise VariableError(spec.name, "may only contain letters, digits and . _ - @ + = , : /")
    if any(segment.startswith("-") for segment in segments):
        raise VariableError(spec.name, "a path segment must not start with '-'")
    if text in SYSTEM_DIRECTORIES and not spec.allow_system_paths:
        raise VariableError(
            spec.name,
            f"{text!r} is a system directory; a remediation must name a narrower path",
        )
    return text


def _hostname(spec: VariableSpec, raw: object) -> str:
    text = _text(spec, raw, max_length=253).lower()
    labels = text.rstrip(".").split(".")
    if not all(re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", label) for label in labels):
        raise VariableError(spec.name, f"{text!r} is not a valid hostname")
    return text.rstrip(".")


def _ip(spec: VariableSpec, raw: object) -> str:
    text = _text(spec, raw, max_length=64)
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise VariableError(spec.name, f"{text!r} is not an IP address") from None


def _url(spec: VariableSpec, raw: object) -> str:
    text = _text(spec, raw, max_length=2048)
    if not _URL_CHARS.fullmatch(text):
        raise VariableError(
            spec.name,
            "contains characters not allowed in a URL (spaces, quotes, backslashes)",
        )
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"}:
        raise VariableError(spec.name, "must be an http or https URL")
    if not parts.hostname:
        raise VariableError(spec.name, "has no host")
    if parts.username or parts.password:
        raise VariableError(spec.name, "must not carry credentials")
    return text


def _csv_identifiers(spec: VariableSpec, raw: object) -> IdentifierList:
    text = _text(spec, raw, max_length=1024)
    items = [item.strip() for item in text.split(",")]
    if not 1 <= len(items) <= 32:
        raise VariableError(spec.name, "must list between 1 and 32 identifiers")
    for item in items:
        if not _RE[VariableType.SQL_IDENTIFIER].fullmatch(item):
            raise VariableError(spec.name, f"{item!r} is not a valid SQL identifier")
    if len(set(items)) != len(items):
        raise VariableError(spec.name, "lists an identifier twice")
    return IdentifierList(items)


def _shown(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 80 else text[:77] + "..."


def coerce_value(spec: VariableSpec, raw: object) -> str | int | float | bool:
    """Validate ``raw`` against ``spec`` and return the normalised value; raises VariableError."""
    kind = spec.variable_type
    value: str | int | float | bool
    if raw is None:
        raise VariableError(spec.name, "has no value")
    if kind is VariableType.INTEGER:
        value = _integer(spec, raw)
    elif kind is VariableType.PORT:
        value = _integer(spec, raw)
        if not 1 <= value <= 65535:
            raise VariableError(spec.name, f"{value} is not a port (1-65535)")
    elif kind is VariableType.NUMBER:
        value = _number(spec, raw)
    elif kind is VariableType.BOOLEAN:
        value = _boolean(spec, raw)
    elif kind is VariableType.STRING:
        value = _text(spec, raw)
        if value != value.strip():
            raise VariableError(spec.name, "must not start or end with whitespace")
    elif kind is VariableType.PATH:
        value = _path(spec, raw)
    elif kind is VariableType.HOSTNAME:
        value = _hostname(spec, raw)
    elif kind is VariableType.IP:
        value = _ip(spec, raw)
    elif kind is VariableType.URL:
        value = _url(spec, raw)
    elif kind is VariableType.CSV_IDENTIFIERS:
        value = _csv_identifiers(spec, raw)
    elif kind is VariableType.LOG_LEVEL:
        value = _text(spec, raw, max_length=16)
        if value.upper() not in LOG_LEVELS:
            raise VariableError(spec.name, f"{value!r} is not a log level ({', '.join(LOG_LEVELS)})")
    elif kind is VariableType.ENUM:
        assert spec.choices is not None
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise VariableError(spec.name, f"{_shown(raw)} is not one of the allowed choices")
        matches = [choice for choice in spec.choices if str(choice) == str(raw)]
        if not matches:
            raise VariableError(spec.name, f"{_shown(raw)} is not one of {list(spec.choices)}")
        value = matches[0]  # type: ignore[assignment]
    elif kind is VariableType.CONFIG_TEXT:
        if not isinstance(raw, str):
            raise VariableError(spec.name, "must be the configuration file's text")
        if len(raw.encode("utf-8", "surrogatepass")) > MAX_CONFIG_TEXT_BYTES:
            raise VariableError(spec.name, f"is larger than {MAX_CONFIG_TEXT_BYTES} bytes")
        if "\x00" in raw or "\r" in raw:
            raise VariableError(spec.name, "contains NUL or carriage-return characters")
        value = raw
    else:
        text = _text(
            spec,
            str(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else raw,
        )
        labels = {
            VariableType.IDENTIFIER: "identifier",
            VariableType.K8S_NAME: "Kubernetes name (DNS-1123 subdomain)",
            VariableType.K8S_LABEL: "Kubernetes name (DNS-1123 label)",
            VariableType.K8S_NAMESPACE: "Kubernetes namespace (DNS-1123 label)",
            VariableType.QUANTITY: "Kubernetes quantity (e.g. 512Mi, 500m)",
            VariableType.DURATION: "duration (e.g. 30s, 5m, 1h30m)",
            VariableType.SQL_IDENTIFIER: "SQL identifier",
            VariableType.SYSTEMD_UNIT: "systemd unit name",
            VariableType.PROCESS_NAME: "process name",
            VariableType.IMAGE: "container image reference",
            VariableType.SETTING_KEY: "setting key (dotted name)",
            VariableType.CONFIG_VALUE: "configuration value (no ; { } # quotes or newlines)",
        }
        value = _match(spec, labels[kind], text)
        if kind is VariableType.K8S_NAME and len(value) > 253:
            raise VariableError(spec.name, "is longer than 253 characters")
        if kind is VariableType.SYSTEMD_UNIT and value.startswith("-"):
            raise VariableError(spec.name, "must not start with '-'")
    if spec.pattern is not None and not re.fullmatch(spec.pattern, str(value)):
        raise VariableError(spec.name, f"{_shown(value)} does not match the pattern {spec.pattern!r}")
    return value


# --- resolution from an RCA ---------------------------------------------------------------------

_SEGMENT = re.compile(
    r"(?P<key>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?:(?P<index>[0-9]+)|(?P<fkey>[A-Za-z_]+)=(?P<fval>[^\]]+))\])?"
)


def _split_sources(source: str) -> list[str]:
    return [part.strip() for part in source.split("|") if part.strip()]


def _parse_source(source: str) -> list[re.Match[str]]:
    segments = []
    for piece in source.split("."):
        match = _SEGMENT.fullmatch(piece)
        if match is None:
            raise ValueError(f"bad source {source!r} (expected e.g. 'parameters.namespace')")
        segments.append(match)
    return segments


def lookup_source(rca: Mapping[str, Any], source: str) -> tuple[bool, object]:
    """Follow one source path into the RCA; returns (found, value)."""
    current: object = rca
    for segment in _parse_source(source):
        if not isinstance(current, Mapping) or segment["key"] not in current:
            return False, None
        current = current[segment["key"]]
        if segment["index"] is not None or segment["fkey"] is not None:
            if not isinstance(current, list):
                return False, None
            if segment["index"] is not None:
                index = int(segment["index"])
                if index >= len(current):
                    return False, None
                current = current[index]
            else:
                wanted = [
                    item
                    for item in current
                    if isinstance(item, Mapping) and str(item.get(segment["fkey"])) == segment["fval"]
                ]
                if not wanted:
                    return False, None
                current = wanted[0]
    if current is None or current == "":
        return False, None
    return True, current


@dataclass(frozen=True)
class ResolvedVariables:
    values: dict[str, object]
    #: Required variables with no value in the RCA and no default.
    missing: list[str]
    #: Values the RCA carried that were refused (they are not in ``values``).
    errors: list[VariableError]
    #: Variables filled from their default because the RCA did not carry them.
    defaulted: list[str]
    #: Share of declared variables filled from the RCA itself (not defaults), 0..1.
    completeness: float
    #: Where each value filled from the RCA came from (variable -> source path).
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.errors


def resolve_variables(specs: Sequence[VariableSpec], rca: Mapping[str, Any]) -> ResolvedVariables:
    """Fill each declared variable from the RCA (first matching source), validating every value.

    An invalid RCA value is reported in ``errors`` and does NOT fall back to the default: a value
    that fails validation is a sign of a confused or hostile RCA, and quietly using the default
    would hide it. Optional variables with neither value nor default resolve to ``None``.
    """
    values: dict[str, object] = {}
    missing: list[str] = []
    errors: list[VariableError] = []
    defaulted: list[str] = []
    sources: dict[str, str] = {}
    filled = 0
    for spec in specs:
        found = False
        for source in spec.sources:
            found, raw = lookup_source(rca, source)
            if found:
                try:
                    values[spec.name] = coerce_value(spec, raw)
                    sources[spec.name] = source
                    filled += 1
                except VariableError as exc:
                    errors.append(exc)
                break
        if found:
            continue
        if spec.default is not None:
            values[spec.name] = coerce_value(spec, spec.default)
            defaulted.append(spec.name)
        elif spec.required:
            missing.append(spec.name)
        else:
            values[spec.name] = None
    completeness = filled / len(specs) if specs else 1.0
    return ResolvedVariables(
        values=values,
        missing=missing,
        errors=errors,
        defaulted=defaulted,
        completeness=completeness,
        sources=sources,
    )


__all__ = [
    "BARE_SAFE_TYPES",
    "IdentifierList",
    "ResolvedVariables",
    "TemplateDefinitionError",
    "VariableError",
    "VariableSpec",
    "VariableType",
    "coerce_value",
    "lookup_source",
    "resolve_variables",
]
