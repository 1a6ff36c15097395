"""Time per script of every validator on the labelled corpus, with its recall and false-positive rate.

Every file of tests/validation/corpus/<language>/{dangerous,legitimate}/ goes through
``remediation.validation.validate_script`` (the same entry point the API, the Celery task and the
agent SDK call), once as a warm-up and then ``--repetitions`` times. A config patch with a
``NAME.diff.orig`` beside it gets that file as ``ValidationContext.current_config``.

    .venv/bin/python benchmarks/validation_speed.py            # full run, writes results/validation_speed.json
    .venv/bin/python benchmarks/validation_speed.py --quick    # a few files, one repetition, writes nothing
    .venv/bin/python benchmarks/validation_speed.py --profile bash   # cProfile one language's corpus
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from measure import REPO, format_table, machine, summary_ms, write_results

from remediation.validation import Language, TargetSystem, ValidationContext, validate_script
from remediation.validation.types import DEFAULT_TARGET

CORPUS = REPO / "tests" / "validation" / "corpus"
SUFFIX = {
    Language.BASH: "sh",
    Language.PYTHON: "py",
    Language.SQL: "sql",
    Language.KUBERNETES: "yaml",
    Language.CONFIG_PATCH: "diff",
}
#: Median milliseconds per script the project aims for (issue 3); bash includes a ShellCheck process.
TARGET_MEDIAN_MS = {
    Language.BASH: 60.0,
    Language.PYTHON: 10.0,
    Language.SQL: 10.0,
    Language.KUBERNETES: 10.0,
    Language.CONFIG_PATCH: 10.0,
}


@dataclass(frozen=True)
class CorpusItem:
    path: Path
    dangerous: bool
    text: str
    context: ValidationContext


def load_corpus(language: Language, limit: int | None) -> list[CorpusItem]:
    target: TargetSystem = DEFAULT_TARGET[language]
    items = []
    for kind in ("dangerous", "legitimate"):
        paths = sorted((CORPUS / language.value / kind).glob(f"*.{SUFFIX[language]}"))
        for path in paths[:limit]:
            orig = path.with_name(path.name + ".orig")
            context = ValidationContext(
                target_system=target, current_config=orig.read_text() if orig.exists() else None
            )
            items.append(CorpusItem(path, kind == "dangerous", path.read_text(), context))
    return items


def _time_one(item: CorpusItem, language: Language) -> tuple[float, bool]:
    started = time.perf_counter()
    result = validate_script(item.text, language=language, context=item.context)
    return (time.perf_counter() - started) * 1000, result.passed


def bench_language(language: Language, repetitions: int, limit: int | None) -> dict[str, object]:
    items = load_corpus(language, limit)
    # The first call pays imports, parser and schema loading: reported, not mixed into the samples.
    first_call_ms, _ = _time_one(items[0], language)
    verdicts = {item.path: _time_one(item, language)[1] for item in items}  # warm-up pass
    samples: list[float] = []
    per_file: dict[Path, list[float]] = {item.path: [] for item in items}
    unstable: set[str] = set()
    for _ in range(repetitions):
        for item in items:
            elapsed, passed = _time_one(item, language)
            samples.append(elapsed)
            per_file[item.path].append(elapsed)
            if passed != verdicts[item.path]:
                unstable.add(item.path.name)
    dangerous = [item for item in items if item.dangerous]
    legitimate = [item for item in items if not item.dangerous]
    missed = sorted(item.path.name for item in dangerous if verdicts[item.path])
    flagged = sorted(item.path.name for item in legitimate if not verdicts[item.path])
    slowest = sorted(per_file.items(), key=lambda kv: statistics.median(kv[1]), reverse=True)[:5]
    stats = summary_ms(samples)
    return {
        "language": language.value,
        "files": len(items),
        "dangerous": len(dangerous),
        "legitimate": len(legitimate),
        "repetitions": repetitions,
        **stats,
        "first_call_ms": round(first_call_ms, 1),
        "recall": round(1 - len(missed) / len(dangerous), 4) if dangerous else None,
        "false_positive_rate": round(len(flagged) / len(legitimate), 4) if legitimate else None,
        "missed_dangerous": missed,
        "flagged_legitimate": flagged,
        "verdict_changed_between_runs": sorted(unstable),
        "slowest_files_median_ms": {
            path.relative_to(CORPUS).as_posix(): round(statistics.median(t), 2) for path, t in slowest
        },
        "target_median_ms": TARGET_MEDIAN_MS[language],
        "target_met": stats["median_ms"] < TARGET_MEDIAN_MS[language],
    }


def profile_language(language: Language, top: int = 25) -> str:
    items = load_corpus(language, None)
    for item in items:
        _time_one(item, language)
    profiler = cProfile.Profile()
    profiler.enable()
    for item in items:
        _time_one(item, language)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def table(rows: list[dict[str, object]]) -> str:
    return format_table(
        ["language", "files", "median ms", "p95 ms", "max ms", "recall", "FP rate", "target", "met"],
        [
            [
                r["language"],
                r["files"],
                r["median_ms"],
                r["p95_ms"],
                r["max_ms"],
                f"{r['recall']:.1%}",
                f"{r['false_positive_rate']:.1%}",
                f"< {r['target_median_ms']:.0f} ms",
                "yes" if r["target_met"] else "NO",
            ]
            for r in rows
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 files per class, 1 repetition, no result file")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--language", choices=[lang.value for lang in Language], action="append")
    parser.add_argument("--profile", choices=[lang.value for lang in Language], help="cProfile one corpus and exit")
    args = parser.parse_args()
    if args.profile:
        print(profile_language(Language(args.profile)))
        return
    languages = [Language(name) for name in args.language] if args.language else list(Language)
    repetitions, limit = (1, 3) if args.quick else (args.repetitions, None)
    rows = []
    for language in languages:
        rows.append(bench_language(language, repetitions, limit))
        print(f"{language.value}: done", flush=True)
    print()
    print(table(rows))
    for row in rows:
        if row["missed_dangerous"] or row["flagged_legitimate"]:
            print(f"{row['language']}: missed {row['missed_dangerous']}, flagged {row['flagged_legitimate']}")
    if not args.quick:
        path = write_results("validation_speed", {"machine": machine(), "repetitions": repetitions, "languages": rows})
        print(f"\nwrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
