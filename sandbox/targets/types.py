"""Types shared by the target runners (SQL, configuration patch, Kubernetes apply).

A target runner executes an approved script against the real target in two stages: a rehearsal
that changes nothing (a rolled-back transaction, an in-memory patch, a server-side dry run), then
the real run, which records a JSON-safe snapshot of what it changed so that a rollback can undo it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: (stream, line): stream is "stdout" or "stderr"; called on the caller's thread as each line happens.
OutputCallback = Callable[[str, str], None]

EXIT_OK = 0
EXIT_FAILED = 1


class TargetUnavailable(Exception):
    """The runner cannot be pointed at a target: missing DSN or API client, a path outside the allowed
    roots, a database that does not answer. Nothing was attempted on the target."""


@dataclass
class TargetResult:
    ok: bool
    #: 0 when the run (or rehearsal) succeeded, 1 when it failed.
    exit_code: int
    #: One sentence for the run record and the approver.
    summary: str
    #: Every line that was also handed to on_output, in order.
    output: list[str]
    #: JSON-safe record of what the real run changed, for rollback; None when nothing was changed
    #: (always None for a rehearsal).
    snapshot: dict[str, Any] | None
    #: SQL only: one entry per statement of the script (-1 where the statement reports no row count
    #: or did not run).
    row_counts: list[int] | None = None
    duration_ms: float = 0.0


@dataclass
class OutputLog:
    """Collects output lines and forwards each one to the caller's callback as it happens."""

    on_output: OutputCallback | None = None
    lines: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def emit(self, line: str, stream: str = "stdout") -> None:
        self.lines.append(line if stream == "stdout" else f"[{stream}] {line}")
        if self.on_output is not None:
            self.on_output(stream, line)

    def error(self, line: str) -> None:
        self.emit(line, "stderr")

    def result(
        self,
        *,
        ok: bool,
        summary: str,
        snapshot: dict[str, Any] | None = None,
        row_counts: list[int] | None = None,
    ) -> TargetResult:
        return TargetResult(
            ok=ok,
            exit_code=EXIT_OK if ok else EXIT_FAILED,
            summary=summary,
            output=list(self.lines),
            snapshot=snapshot,
            row_counts=row_counts,
            duration_ms=round((time.monotonic() - self.started) * 1000, 3),
        )


__all__ = ["EXIT_FAILED", "EXIT_OK", "OutputCallback", "OutputLog", "TargetResult", "TargetUnavailable"]
