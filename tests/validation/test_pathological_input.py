"""Input shaped to make regular expressions backtrack must not hang any validator.

A generous bound (10 s for 200 KB) is a hang detector, not a speed target: before the secret-key
pattern was anchored, one 20,000-character line took 66 s in the cross-language secrets check.
"""

from __future__ import annotations

import time

import pytest

from remediation.validation import Language, TargetSystem, ValidationContext, validate_script
from remediation.validation.types import DEFAULT_TARGET

SHAPES = {
    "one long word": "a" * 200_000,
    "assignment of a long word": "x=" + "a" * 200_000,
    "repeated key names": "password" * 25_000,
    "many key-like tokens": "api_key token secret " * 10_000,
    "long punctuation run": "-._" * 60_000,
}


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("shape", list(SHAPES))
def test_pathological_single_line_input_finishes(language: Language, shape: str) -> None:
    context = ValidationContext(target_system=TargetSystem(DEFAULT_TARGET[language]))
    started = time.perf_counter()
    result = validate_script(SHAPES[shape], language=language, context=context)
    assert time.perf_counter() - started < 10, f"{language} took too long on {shape}"
    assert result.status in {"PASSED", "FAILED"}
