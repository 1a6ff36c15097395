"""The confidence formula (remediation/confidence.py): bounds, caps, monotonicity and exact level thresholds."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remediation.confidence import (
    ConfidenceInputs,
    Level,
    effective_line_count,
    level_for,
    score_confidence,
    simplicity_for,
)

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def inputs(draw: st.DrawFn) -> ConfidenceInputs:
    return ConfidenceInputs(
        rca_confidence=draw(unit),
        has_template=draw(st.booleans()),
        completeness=draw(unit),
        validation_passed=draw(st.booleans()),
        validation_has_minor_findings=draw(st.booleans()),
        effective_lines=draw(st.integers(min_value=0, max_value=2000)),
        template_successes=draw(st.integers(min_value=0, max_value=500)),
        template_failures=draw(st.integers(min_value=0, max_value=500)),
        proven_similar=draw(st.booleans()),
        refused_inputs=draw(st.booleans()),
    )


def best_case(**changes: object) -> ConfidenceInputs:
    """A proven template, fully filled, clean validation, short script."""
    base = ConfidenceInputs(
        rca_confidence=1.0,
        has_template=True,
        completeness=1.0,
        validation_passed=True,
        validation_has_minor_findings=False,
        effective_lines=10,
        template_successes=98,
        template_failures=0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@given(inputs())
def test_score_is_in_the_unit_interval_and_matches_its_level(case: ConfidenceInputs) -> None:
    result = score_confidence(case)
    assert 0.0 <= result.score <= 1.0
    assert result.level == level_for(result.score)


@given(inputs())
def test_never_high_without_a_template(case: ConfidenceInputs) -> None:
    result = score_confidence(replace(case, has_template=False))
    assert result.level != Level.HIGH
    assert result.score < 0.80


@given(inputs())
def test_llm_script_is_low_at_most_unless_a_similar_script_succeeded(case: ConfidenceInputs) -> None:
    result = score_confidence(replace(case, has_template=False, proven_similar=False))
    assert result.level == Level.LOW


@given(inputs())
def test_never_above_low_when_validation_failed(case: ConfidenceInputs) -> None:
    result = score_confidence(replace(case, validation_passed=False))
    assert result.level == Level.LOW
    assert result.score <= 0.49
    assert result.factors["validation"] == 0.0


@given(inputs())
def test_refused_inputs_cap_at_medium(case: ConfidenceInputs) -> None:
    result = score_confidence(replace(case, refused_inputs=True))
    assert result.level != Level.HIGH
    assert result.score <= 0.79


@given(inputs(), unit, unit)
def test_monotone_in_rca_confidence(case: ConfidenceInputs, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert (
        score_confidence(replace(case, rca_confidence=low)).score
        <= score_confidence(replace(case, rca_confidence=high)).score
    )


@given(st.integers(min_value=0, max_value=5000), st.integers(min_value=0, max_value=5000))
def test_simplicity_never_rises_with_length(a: int, b: int) -> None:
    short, long = sorted((a, b))
    assert 0.5 <= simplicity_for(long) <= simplicity_for(short) <= 1.0


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (1.0, Level.HIGH),
        (0.80, Level.HIGH),
        (0.7999, Level.MEDIUM),
        (0.79, Level.MEDIUM),
        (0.50, Level.MEDIUM),
        (0.4999, Level.LOW),
        (0.49, Level.LOW),
        (0.0, Level.LOW),
    ],
)
def test_level_thresholds_are_exact(score: float, level: Level) -> None:
    assert level_for(score) == level


def test_best_case_is_high_and_the_factors_explain_it() -> None:
    result = score_confidence(best_case())
    assert result.level == Level.HIGH
    # 0.30 + 0.20 + 0.20 + 0.15 + 0.15 * 99/100 = 0.9985 -> 1.00 rounded
    assert result.score == pytest.approx(1.0, abs=0.01)
    assert result.factors["template_match"] == 1.0
    assert result.factors["history"] == pytest.approx(99 / 100, abs=1e-3)
    assert result.factors["cap"] == ""


def test_sample_disk_full_worked_example() -> None:
    """The worked example of docs/confidence.md: disk_full_app_cache.json through disk_full_clean_old_files."""
    result = score_confidence(
        ConfidenceInputs(
            rca_confidence=0.91,
            has_template=True,
            completeness=1.0,
            validation_passed=True,
            validation_has_minor_findings=False,
            effective_lines=35,
            template_successes=0,
            template_failures=0,
        )
    )
    simplicity = 1.0 - 0.5 * (35 - 20) / 180
    quality = 0.30 + 0.20 + 0.20 + 0.15 * simplicity + 0.15 * 0.5
    assert result.score == round(0.91 * quality, 2) == 0.84
    assert result.level == Level.HIGH
    assert result.factors["simplicity"] == 0.958
    assert result.factors["quality"] == 0.919


def test_minor_findings_cost_a_little() -> None:
    clean = score_confidence(best_case(rca_confidence=0.9)).score
    minor = score_confidence(best_case(rca_confidence=0.9, validation_has_minor_findings=True)).score
    assert minor < clean
    assert clean - minor == pytest.approx(0.9 * 0.20 * 0.1, abs=0.011)


def test_failed_history_drags_a_template_below_high() -> None:
    proven = score_confidence(best_case(rca_confidence=0.85))
    failing = score_confidence(best_case(rca_confidence=0.85, template_successes=0, template_failures=40))
    assert proven.level == Level.HIGH
    assert failing.score < proven.score


@given(inputs())
def test_proven_similar_llm_script_is_never_high(case: ConfidenceInputs) -> None:
    result = score_confidence(replace(case, has_template=False, proven_similar=True))
    assert result.score <= 0.79
    assert result.level != Level.HIGH


def test_cap_reason_is_recorded() -> None:
    assert score_confidence(best_case(validation_passed=False)).factors["cap"] == "validation failed"
    assert score_confidence(best_case(has_template=False)).factors["cap"] == "no template"
    refused = score_confidence(best_case(refused_inputs=True))
    assert refused.score == 0.79 and "refused" in str(refused.factors["cap"])


def test_effective_lines_skip_blanks_and_comments() -> None:
    script = "#!/usr/bin/env bash\n\n# comment\nset -e\n  -- sql comment\n// js\necho hi\n"
    assert effective_line_count(script) == 2


@pytest.mark.django_db
def test_worked_example_matches_what_generation_stores(seeded_templates: None, settings: object) -> None:
    import json
    from pathlib import Path

    from remediation.lifecycle import SYSTEM
    from remediation.services.generation import script_generate
    from remediation.services.intake import request_remediation

    settings.OPENAI_API_KEY = ""  # type: ignore[attr-defined]
    settings.OPENAI_BASE_URL = ""  # type: ignore[attr-defined]
    settings.EMBEDDING_BACKEND = "lexical"  # type: ignore[attr-defined]
    sample = Path(__file__).resolve().parents[3] / "shared" / "examples" / "rca" / "disk_full_app_cache.json"
    script, _ = request_remediation(payload=json.loads(sample.read_text()), actor=SYSTEM)
    script = script_generate(script_id=script.pk, no_llm=True)
    assert script.template is not None and script.template.name == "disk_full_clean_old_files"
    assert effective_line_count(script.generated_script) == 35
    assert float(script.confidence_score) == 0.84
    assert script.confidence_level == "HIGH"
    assert script.confidence_factors["quality"] == 0.919
    assert script.confidence_factors["history"] == 0.5
