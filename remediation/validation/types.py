"""Value types shared by every language validator."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import IntEnum, StrEnum
from typing import Any


class Language(StrEnum):
    BASH = "bash"
    PYTHON = "python"
    SQL = "sql"
    KUBERNETES = "kubernetes"
    CONFIG_PATCH = "config_patch"


class TargetSystem(StrEnum):
    LINUX = "linux"
    KUBERNETES = "kubernetes"
    POSTGRESQL = "postgresql"
    NGINX = "nginx"
    APPLICATION = "application"


#: The target system a language usually runs against, used when the caller names none.
DEFAULT_TARGET: dict[Language, TargetSystem] = {
    Language.BASH: TargetSystem.LINUX,
    Language.PYTHON: TargetSystem.LINUX,
    Language.SQL: TargetSystem.POSTGRESQL,
    Language.KUBERNETES: TargetSystem.KUBERNETES,
    Language.CONFIG_PATCH: TargetSystem.APPLICATION,
}


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class Strictness(StrEnum):
    """How much a validation may tolerate.

    HIGH (the default) fails on any medium, high or critical finding; MEDIUM fails on high and
    critical; LOW fails on critical only. Low and info findings never fail a script.
    """

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"

    @property
    def for_rollback(self) -> Strictness:
        """A rollback restores the state before the change, so content rules that flag that old state
        (a DEBUG log level put back) are expected there: it is judged one level lower. Critical and
        high findings still fail it at every level but LOW."""
        return {Strictness.HIGH: Strictness.MEDIUM, Strictness.MEDIUM: Strictness.LOW}.get(self, Strictness.LOW)

    @property
    def failing_severity(self) -> Severity:
        return {
            Strictness.LOW: Severity.CRITICAL,
            Strictness.MEDIUM: Severity.HIGH,
            Strictness.HIGH: Severity.MEDIUM,
        }[self]


class ValidationStatus(StrEnum):
    PASSED = "PASSED"
    FAILED = "FAILED"


class Limit(IntEnum):
    #: Larger scripts are refused outright instead of being truncated (a payload after the cut
    #: would otherwise go unseen).
    MAX_SCRIPT_BYTES = 512 * 1024
    #: Wall-clock budget for one external parser/linter process.
    TOOL_TIMEOUT_SECONDS = 10


@dataclass(frozen=True, slots=True)
class Finding:
    rule_id: str
    severity: Severity
    message: str
    line: int | None = None
    hint: str = ""

    def fails_at(self, strictness: Strictness) -> bool:
        return self.severity.rank >= strictness.failing_severity.rank

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "severity": str(self.severity),
            "line": self.line,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass(frozen=True, slots=True)
class ValidationContext:
    """What the validator knows about where the script will run.

    Every allow-list left empty means "no restriction known"; scope rules only fire on lists that
    are set. ``rca_components`` are the resources the RCA names (kind, name, namespace): a script
    that touches something else gets a finding.
    """

    target_system: TargetSystem
    strictness: Strictness = Strictness.HIGH
    service: str = ""
    allowed_namespaces: tuple[str, ...] = ()
    allowed_databases: tuple[str, ...] = ()
    allowed_paths: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    rca_components: tuple[dict[str, str], ...] = ()
    #: The text of the configuration file a config patch applies to, when known.
    current_config: str | None = None
    #: Budget in seconds / MiB the script may use; a script that asks for more gets a finding.
    max_execution_seconds: int = 300
    memory_limit_mb: int = 512
    #: The service's ceiling for a container's memory limit in manifests (None: no ceiling known).
    max_container_memory_mb: int | None = None

    def for_rollback(self) -> ValidationContext:
        """The context a rollback is judged in: it applies to the changed file (no current_config) and
        one strictness level lower (see Strictness.for_rollback)."""
        return replace(self, current_config=None, strictness=self.strictness.for_rollback)


@dataclass(slots=True)
class ValidationResult:
    status: ValidationStatus
    language: Language
    target_system: TargetSystem
    strictness: Strictness
    findings: list[Finding] = field(default_factory=list)
    duration_ms: float = 0.0
    #: Human-readable list of what the script will change, for reviewers.
    side_effects: list[str] = field(default_factory=list)
    validator_versions: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status is ValidationStatus.PASSED

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": str(self.status),
            "language": str(self.language),
            "target_system": str(self.target_system),
            "strictness": str(self.strictness),
            "findings": [f.as_dict() for f in self.findings],
            "duration_ms": round(self.duration_ms, 3),
            "side_effects": list(self.side_effects),
            "validator_versions": dict(self.validator_versions),
        }


@dataclass(slots=True)
class LanguageReport:
    """What one language validator returns to the engine."""

    findings: list[Finding] = field(default_factory=list)
    side_effects: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)


__all__ = [
    "DEFAULT_TARGET",
    "Finding",
    "Language",
    "LanguageReport",
    "Limit",
    "Severity",
    "Strictness",
    "TargetSystem",
    "ValidationContext",
    "ValidationResult",
    "ValidationStatus",
    "asdict",
]
