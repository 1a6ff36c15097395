"""Script validation: real parsers plus safety rules, free of Django.

The agent SDK imports this package on hosts that have no Django settings, so nothing here may
import Django (import-linter holds that line). Entry point: :func:`validate_script`.
"""

from remediation.validation.engine import validate_script
from remediation.validation.types import (
    Finding,
    Language,
    Severity,
    Strictness,
    TargetSystem,
    ValidationContext,
    ValidationResult,
    ValidationStatus,
)

__all__ = [
    "Finding",
    "Language",
    "Severity",
    "Strictness",
    "TargetSystem",
    "ValidationContext",
    "ValidationResult",
    "ValidationStatus",
    "validate_script",
]
