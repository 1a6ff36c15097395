"""Strict OpenAPI schema validation of Kubernetes objects, with the schemas kept in memory.

``kubernetes_validate.validate`` re-reads a 1.3 MB definitions file and rebuilds the reference
registry on every call (tens of milliseconds). We read the same schema files that package ships,
once per process, and keep one compiled validator per (apiVersion, kind).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema
from referencing import Registry, Resource

#: Pinned Kubernetes schema version. Every kubernetes-validate release the project allows
#: (>=1.31) ships it, so results do not drift when the package is upgraded.
KUBERNETES_SCHEMA_VERSION = "1.31.0"
_SCHEMA_DIR = f"v{KUBERNETES_SCHEMA_VERSION}-local-strict"


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """One schema violation: ``kind`` is "unknown_field", "missing_required" or "invalid"."""

    kind: str
    path: tuple[Any, ...]
    message: str


class UnknownSchema(Exception):
    """No schema exists for this apiVersion/kind in the pinned version (CRD instances, typos)."""


def _schema_root() -> Any:
    return resources.files("kubernetes_validate").joinpath("kubernetes-json-schema", _SCHEMA_DIR)


@functools.lru_cache(maxsize=1)
def _registry() -> Registry:
    definitions = json.loads(_schema_root().joinpath("_definitions.json").read_text(encoding="utf-8"))
    return Resource.from_contents(definitions) @ Registry()  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=256)
def _validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    # Same file naming as kubernetes_validate: rbac.authorization.k8s.io/v1 -> rbac-v1, v1 -> v1.
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    if not re.fullmatch(r"[a-z0-9-]+", group_version) or not re.fullmatch(r"[A-Za-z0-9]+", kind):
        raise UnknownSchema(f"{api_version}/{kind}")
    schema_file = _schema_root().joinpath(f"{kind.lower()}-{group_version}.json")
    try:
        schema = json.loads(schema_file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UnknownSchema(f"{api_version}/{kind}") from exc
    # The kind/apiVersion enums must match exactly; a case-insensitive file hit is not enough.
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def _problem_for(error: jsonschema.ValidationError) -> SchemaProblem:
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        return SchemaProblem("unknown_field", path, error.message)
    if error.validator == "required":
        return SchemaProblem("missing_required", path, error.message)
    return SchemaProblem("invalid", path, error.message[:300])


def schema_problems(document: dict[str, Any]) -> list[SchemaProblem]:
    """Every strict-schema problem of ``document``; raise :class:`UnknownSchema` when none applies."""
    validator = _validator(str(document.get("apiVersion", "")), str(document.get("kind", "")))
    return [_problem_for(error) for error in validator.iter_errors(document)]


def kubernetes_validate_version() -> str:
    try:
        from kubernetes_validate.version import __version__  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - the package is a hard dependency
        return "unknown"
    return str(__version__)


__all__ = [
    "KUBERNETES_SCHEMA_VERSION",
    "SchemaProblem",
    "UnknownSchema",
    "kubernetes_validate_version",
    "schema_problems",
]
