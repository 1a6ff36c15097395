"""Checks that apply to every language: secrets, network egress, budget and scope.

Owned by the helper building kubernetes/config_patch validation; the engine calls
:func:`cross_language_findings` after the language validator.
"""

from __future__ import annotations

from remediation.validation.types import Finding, Language, ValidationContext


def cross_language_findings(text: str, *, language: Language, context: ValidationContext) -> list[Finding]:
    return []
