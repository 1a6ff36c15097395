"""Confidence in a generated remediation: an explainable formula, free of Django.

    quality = 0.30·template_match + 0.20·completeness + 0.20·validation + 0.15·simplicity + 0.15·history
    score   = rca_confidence × quality

You cannot trust the cure more than the diagnosis, hence the product. Factors, each in [0, 1]:

- ``rca_confidence``: the RCA engine's own confidence (a number; RCA *text* never enters the score,
  so instructions hidden in evidence cannot move it);
- ``template_match``: 1 for a template of the same category and target system, 0 without one;
- ``completeness``: share of the template's variables filled from the RCA instead of defaults;
- ``validation``: 1 when validation passed with no findings, 0.9 with only low/info findings,
  0 when it failed;
- ``simplicity``: 1 up to 20 effective lines, falling linearly to 0.5 at 200 lines and beyond;
- ``history``: the template's Laplace-smoothed success rate, (successes + 1) / (runs + 2).

A configured fallback action is LOW at most. An RCA that carried a value some template refused (metacharacters in a path, say) is
MEDIUM at most, so a person looks at it. A failed validation, or a script with no template (LLM-written), is LOW at most (0.49),
unless an LLM script closely repeats a past script that succeeded (``proven_similar``): then it
may reach MEDIUM (0.79), never HIGH. Levels: HIGH ≥ 0.80, MEDIUM ≥ 0.50, LOW below.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

WEIGHTS = {"template_match": 0.30, "completeness": 0.20, "validation": 0.20, "simplicity": 0.15, "history": 0.15}
LOW_CAP = 0.49
MEDIUM_CAP = 0.79
HIGH_THRESHOLD = 0.80
MEDIUM_THRESHOLD = 0.50


class Level(StrEnum):
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


@dataclass(frozen=True)
class ConfidenceInputs:
    rca_confidence: float
    has_template: bool
    completeness: float
    validation_passed: bool
    validation_has_minor_findings: bool
    effective_lines: int
    template_successes: int = 0
    template_failures: int = 0
    proven_similar: bool = False
    refused_inputs: bool = False
    #: A generic fallback action, not a remediation chosen for this finding: LOW at most.
    fallback: bool = False


@dataclass(frozen=True)
class Confidence:
    score: float
    level: Level
    factors: dict[str, float | str | bool]


def level_for(score: float) -> Level:
    if score >= HIGH_THRESHOLD:
        return Level.HIGH
    if score >= MEDIUM_THRESHOLD:
        return Level.MEDIUM
    return Level.LOW


def simplicity_for(effective_lines: int) -> float:
    if effective_lines <= 20:
        return 1.0
    if effective_lines >= 200:
        return 0.5
    return 1.0 - 0.5 * (effective_lines - 20) / 180


def _unit(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def score_confidence(inputs: ConfidenceInputs) -> Confidence:
    factors: dict[str, float] = {
        "template_match": 1.0 if inputs.has_template else 0.0,
        "completeness": _unit(inputs.completeness) if inputs.has_template else 0.0,
        "validation": (0.9 if inputs.validation_has_minor_findings else 1.0) if inputs.validation_passed else 0.0,
        "simplicity": simplicity_for(inputs.effective_lines),
        "history": (inputs.template_successes + 1) / (inputs.template_successes + inputs.template_failures + 2),
    }
    quality = sum(WEIGHTS[name] * value for name, value in factors.items())
    rca_confidence = _unit(inputs.rca_confidence)
    score = rca_confidence * quality
    cap_reason = ""
    if not inputs.validation_passed:
        score, cap_reason = min(score, LOW_CAP), "validation failed"
    elif not inputs.has_template:
        cap = MEDIUM_CAP if inputs.proven_similar else LOW_CAP
        score = min(score, cap)
        cap_reason = "no template; similar past script succeeded" if inputs.proven_similar else "no template"
    if inputs.fallback and score > LOW_CAP:
        score, cap_reason = LOW_CAP, "a configured fallback action, not a remediation chosen for this finding"
    if inputs.refused_inputs and score > MEDIUM_CAP:
        score, cap_reason = MEDIUM_CAP, "the RCA carried values a template refused"
    score = round(score, 2)
    return Confidence(
        score=score,
        level=level_for(score),
        factors={
            "rca_confidence": round(rca_confidence, 3),
            **{name: round(value, 3) for name, value in factors.items()},
            "quality": round(quality, 3),
            "cap": cap_reason,
            "formula": "rca_confidence × quality",
        },
    )


def effective_line_count(script: str) -> int:
    """Lines that do something: not blank, not a comment (#, --, //)."""
    return sum(1 for line in script.splitlines() if line.strip() and not line.lstrip().startswith(("#", "--", "//")))
