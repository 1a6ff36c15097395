"""Shared corpus runner: recall and false-positive rate of a language's labelled corpus at HIGH strictness."""

from __future__ import annotations

from pathlib import Path

from remediation.validation import ValidationContext, validate_script

CORPUS = Path(__file__).parent / "corpus"


def corpus_rates(language: str, suffix: str, target_system: str) -> tuple[float, float, list[str]]:
    """(recall on dangerous, false-positive rate on legitimate, misses) at HIGH strictness."""
    misses: list[str] = []
    rates: dict[str, float] = {}
    for kind, should_fail in (("dangerous", True), ("legitimate", False)):
        paths = sorted((CORPUS / language / kind).glob(f"*.{suffix}"))
        assert paths, f"empty corpus {language}/{kind}"
        failed = 0
        for path in paths:
            orig = path.with_name(path.name + ".orig")
            context = ValidationContext(
                target_system=target_system,  # type: ignore[arg-type]
                current_config=orig.read_text() if orig.exists() else None,
            )
            result = validate_script(path.read_text(), language=language, context=context)
            failed += not result.passed
            if result.passed == should_fail:
                misses.append(f"{kind}/{path.name}: {result.status} {[f.rule_id for f in result.findings]}")
        rates[kind] = failed / len(paths)
    return rates["dangerous"], rates["legitimate"], misses
