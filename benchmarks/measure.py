"""Statistics, the machine's description and result files, shared by the benchmark scripts.

Each benchmark runs as ``.venv/bin/python benchmarks/<name>.py``, so this module is imported by its
plain name (the script's own folder is first on sys.path) and puts the checkout on sys.path for the
project's packages.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The value below which ``fraction`` of the samples lie (linear interpolation between ranks)."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    rank = fraction * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(samples: Sequence[float]) -> dict[str, float]:
    """Median, p95 and max of millisecond samples, rounded for the report."""
    return {
        "n": len(samples),
        "median_ms": round(statistics.median(samples), 3) if samples else float("nan"),
        "p95_ms": round(percentile(samples, 0.95), 3),
        "max_ms": round(max(samples), 3) if samples else float("nan"),
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, object]:
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cpus_online": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        # Other work on the machine while the run went (the development hosts are shared).
        "load_average_1_5_15": load_average(),
    }


def load_average() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except (OSError, ValueError):
        return []


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, so the same text goes to the terminal and into benchmarks/README.md."""
    cells = [[str(h) for h in headers]] + [[_cell(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def write_results(name: str, payload: dict[str, object]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    return path
