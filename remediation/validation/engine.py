"""Dispatch a script to its language validator and apply the strictness policy."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable

from remediation.validation.common import cross_language_findings
from remediation.validation.types import (
    Finding,
    Language,
    LanguageReport,
    Limit,
    Severity,
    ValidationContext,
    ValidationResult,
    ValidationStatus,
)

#: module path of each language validator; each module exposes ``validate(text, context)``.
_VALIDATOR_MODULES: dict[Language, str] = {
    Language.BASH: "remediation.validation.bash",
    Language.PYTHON: "remediation.validation.python",
    Language.SQL: "remediation.validation.sql",
    Language.KUBERNETES: "remediation.validation.kubernetes",
    Language.CONFIG_PATCH: "remediation.validation.config_patch",
}


def _validator_for(language: Language) -> Callable[[str, ValidationContext], LanguageReport]:
    module = importlib.import_module(_VALIDATOR_MODULES[language])
    validate: Callable[[str, ValidationContext], LanguageReport] = module.validate
    return validate


def _input_findings(text: str) -> list[Finding]:
    """Refuse input no parser should be asked to read."""
    if not text.strip():
        return [Finding("syntax.empty", Severity.CRITICAL, "The script is empty.", None, "Provide the script text.")]
    if len(text.encode("utf-8", "surrogatepass")) > Limit.MAX_SCRIPT_BYTES:
        return [
            Finding(
                "syntax.too_large",
                Severity.CRITICAL,
                f"The script is larger than {Limit.MAX_SCRIPT_BYTES} bytes; it is refused, not truncated.",
                None,
                "Split the remediation into smaller scripts.",
            )
        ]
    if "\x00" in text:
        return [
            Finding(
                "syntax.binary",
                Severity.CRITICAL,
                "The script contains NUL bytes: it is binary data, not a script.",
                None,
                "Submit plain text.",
            )
        ]
    return []


def validate_script(text: str, *, language: Language | str, context: ValidationContext) -> ValidationResult:
    """Validate ``text`` as ``language`` for ``context``; never raises on bad input."""
    language = Language(language)
    started = time.perf_counter()
    findings = _input_findings(text)
    report = LanguageReport()
    if not findings:
        report = _validator_for(language)(text, context)
        findings = report.findings + cross_language_findings(text, language=language, context=context)
    findings = sorted(findings, key=lambda f: (-f.severity.rank, f.line or 0, f.rule_id))
    failed = any(f.fails_at(context.strictness) for f in findings)
    return ValidationResult(
        status=ValidationStatus.FAILED if failed else ValidationStatus.PASSED,
        language=language,
        target_system=context.target_system,
        strictness=context.strictness,
        findings=findings,
        duration_ms=(time.perf_counter() - started) * 1000,
        side_effects=report.side_effects,
        validator_versions=report.versions,
    )
