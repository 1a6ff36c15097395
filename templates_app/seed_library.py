"""The seed library: remediation templates shipped as YAML files in ``templates_app/seeds/``.

Pure Python (no Django): ``manage.py seed_templates`` calls :func:`load_seed_templates` and stores
each :class:`SeedTemplate`; the ``checksum`` (sha256 of the canonical content) lets seeding be
idempotent: an unchanged seed is skipped, a changed one becomes a new template version.

File format: docs/templates.md ("Seed files"). One template per file, or a list of templates.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from templates_app.rendering import LANGUAGES, check_template_definition
from templates_app.variables import TemplateDefinitionError, VariableSpec

SEED_DIRECTORY = Path(__file__).resolve().parent / "seeds"

TARGET_SYSTEMS = ("linux", "kubernetes", "postgresql", "nginx", "application")

_REQUIRED_FIELDS = (
    "name",
    "description",
    "root_cause_category",
    "target_systems",
    "script_language",
    "required_capabilities",
    "template_variables",
    "safety_checks",
    "template_content",
    "rollback_content",
    "sample_parameters",
)
_OPTIONAL_FIELDS = ("rollback_unavailable_reason", "version")


@dataclass(frozen=True)
class SeedTemplate:
    name: str
    description: str
    root_cause_category: str
    target_systems: tuple[str, ...]
    script_language: str
    required_capabilities: tuple[str, ...]
    template_variables: tuple[VariableSpec, ...]
    safety_checks: tuple[str, ...]
    template_content: str
    rollback_content: str | None
    #: Why there is no rollback (set exactly when ``rollback_content`` is None).
    rollback_unavailable_reason: str
    #: Realistic RCA ``parameters`` for this template; tests render every seed with them.
    sample_parameters: Mapping[str, Any]
    version: int = 1
    source_file: Path | None = field(default=None, compare=False)
    checksum: str = ""

    def canonical_content(self) -> dict[str, Any]:
        """Everything that defines the template (not where it was read from), JSON-serialisable."""
        return {
            "name": self.name,
            "description": self.description,
            "root_cause_category": self.root_cause_category,
            "target_systems": list(self.target_systems),
            "script_language": self.script_language,
            "required_capabilities": list(self.required_capabilities),
            "template_variables": [spec.to_dict() for spec in self.template_variables],
            "safety_checks": list(self.safety_checks),
            "template_content": self.template_content,
            "rollback_content": self.rollback_content,
            "rollback_unavailable_reason": self.rollback_unavailable_reason,
            "sample_parameters": dict(self.sample_parameters),
            "version": self.version,
        }

    def variables_as_dicts(self) -> list[dict[str, Any]]:
        return [spec.to_dict() for spec in self.template_variables]


def compute_checksum(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _string_list(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data[key]
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise TemplateDefinitionError(f"{where}: {key!r} must be a list of non-empty strings")
    return tuple(value)


def _text_field(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise TemplateDefinitionError(f"{where}: {key!r} must be non-empty text")
    return value


def parse_seed(data: object, *, where: str, source_file: Path | None = None) -> SeedTemplate:
    """Build one SeedTemplate from its YAML mapping; every problem names ``where``."""
    if not isinstance(data, Mapping):
        raise TemplateDefinitionError(f"{where}: a seed template must be a mapping")
    name = data.get("name", "?")
    where = f"{where} (template {name!r})"
    missing = [key for key in _REQUIRED_FIELDS if key not in data]
    if missing:
        raise TemplateDefinitionError(f"{where}: missing fields {missing}")
    unknown = sorted(set(data) - set(_REQUIRED_FIELDS) - set(_OPTIONAL_FIELDS))
    if unknown:
        raise TemplateDefinitionError(f"{where}: unknown fields {unknown}")
    language = data["script_language"]
    if language not in LANGUAGES:
        raise TemplateDefinitionError(f"{where}: script_language must be one of {list(LANGUAGES)}")
    targets = _string_list(data, "target_systems", where)
    if not targets or any(target not in TARGET_SYSTEMS for target in targets):
        raise TemplateDefinitionError(f"{where}: target_systems must be a non-empty subset of {list(TARGET_SYSTEMS)}")
    variables = data["template_variables"]
    if not isinstance(variables, list):
        raise TemplateDefinitionError(f"{where}: template_variables must be a list")
    try:
        specs = tuple(VariableSpec.from_dict(item) for item in variables)
    except TemplateDefinitionError as exc:
        raise TemplateDefinitionError(f"{where}: {exc}") from None
    rollback = data["rollback_content"]
    reason = data.get("rollback_unavailable_reason") or ""
    if rollback is None and not (isinstance(reason, str) and reason.strip()):
        raise TemplateDefinitionError(f"{where}: rollback_content is null, so rollback_unavailable_reason is required")
    if rollback is not None and (not isinstance(rollback, str) or not rollback.strip()):
        raise TemplateDefinitionError(f"{where}: rollback_content must be text or null")
    samples = data["sample_parameters"]
    if not isinstance(samples, Mapping):
        raise TemplateDefinitionError(f"{where}: sample_parameters must be a mapping")
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise TemplateDefinitionError(f"{where}: version must be a positive integer")
    seed = SeedTemplate(
        name=_text_field(data, "name", where),
        description=_text_field(data, "description", where),
        root_cause_category=_text_field(data, "root_cause_category", where),
        target_systems=targets,
        script_language=language,
        required_capabilities=_string_list(data, "required_capabilities", where),
        template_variables=specs,
        safety_checks=_string_list(data, "safety_checks", where),
        template_content=_text_field(data, "template_content", where),
        rollback_content=rollback,
        rollback_unavailable_reason=reason,
        sample_parameters=dict(samples),
        version=version,
        source_file=source_file,
    )
    try:
        check_template_definition(
            content=seed.template_content, rollback=seed.rollback_content, language=language, specs=specs
        )
    except TemplateDefinitionError as exc:
        raise TemplateDefinitionError(f"{where}: {exc}") from None
    return _with_checksum(seed)


def _with_checksum(seed: SeedTemplate) -> SeedTemplate:
    from dataclasses import replace

    return replace(seed, checksum=compute_checksum(seed.canonical_content()))


def load_seed_file(path: Path) -> list[SeedTemplate]:
    try:
        documents = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TemplateDefinitionError(f"{path}: cannot read seed file: {exc}") from None
    items = documents if isinstance(documents, list) else [documents]
    return [
        parse_seed(item, where=f"{path}" + (f"[{index}]" if len(items) > 1 else ""), source_file=path)
        for index, item in enumerate(items)
    ]


def load_seed_templates(path: Path | None = None) -> list[SeedTemplate]:
    """Load every ``*.yaml``/``*.yml`` seed under ``path`` (default: the shipped library), sorted by name.

    ``path`` may also be a single file. Raises TemplateDefinitionError naming the file on a bad seed
    or on two seeds with the same name.
    """
    root = path if path is not None else SEED_DIRECTORY
    if root.is_file():
        files = [root]
    elif root.is_dir():
        files = sorted([*root.glob("*.yaml"), *root.glob("*.yml")])
    else:
        raise TemplateDefinitionError(f"{root}: no such seed file or directory")
    seeds: dict[str, SeedTemplate] = {}
    for file in files:
        for seed in load_seed_file(file):
            if seed.name in seeds:
                raise TemplateDefinitionError(
                    f"{file}: template name {seed.name!r} is already used in {seeds[seed.name].source_file}"
                )
            seeds[seed.name] = seed
    return sorted(seeds.values(), key=lambda seed: seed.name)


__all__ = ["SEED_DIRECTORY", "SeedTemplate", "compute_checksum", "load_seed_file", "load_seed_templates", "parse_seed"]
