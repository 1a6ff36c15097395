"""Bandit run as a library on in-memory source, with its severities mapped to remediation reality.

Ops scripts import subprocess, run fixed binaries and write to /tmp all the time: Bandit's
B404/B603/B607/B108/B101 and friends are kept as info so a reviewer still sees them, but they never
fail a script. ``# nosec`` comments are ignored: the author of the script under review does not
get to silence its reviewer.
"""

from __future__ import annotations

import functools
import io
import logging
import threading
from typing import Any

import bandit
from bandit.core import config as bandit_config
from bandit.core import manager as bandit_manager
from bandit.core import metrics as bandit_metrics

from remediation.validation.types import Finding, Severity

#: Normal in remediation scripts: reported as info.
_OPS_NOISE = frozenset(
    {"B101", "B105", "B106", "B107", "B108", "B110", "B112", "B311", "B403", "B404", "B405", "B406",
     "B407", "B408", "B409", "B410", "B411", "B412", "B413", "B603", "B607", "B113"}
)  # fmt: skip
#: Worth a look but common in legitimate tooling (health checks over urllib, md5 cache keys, ...).
_DOWNGRADED_TO_LOW = frozenset({"B104", "B303", "B304", "B305", "B310", "B321", "B324", "B402", "B501", "B601"})
_BANDIT_SEVERITY = {"HIGH": Severity.HIGH, "MEDIUM": Severity.MEDIUM, "LOW": Severity.LOW}

_lock = threading.Lock()


@functools.cache
def _manager() -> bandit_manager.BanditManager:
    # Bandit logs "Unable to find qualified name for module" for in-memory files; that is expected here.
    logging.getLogger("bandit").setLevel(logging.ERROR)
    return bandit_manager.BanditManager(bandit_config.BanditConfig(), "file", quiet=True, ignore_nosec=True)


def bandit_version() -> str:
    return str(bandit.__version__)


def bandit_findings(source: str) -> list[Finding]:
    """Bandit's issues for ``source`` as findings with rule ids ``bandit.Bxxx``; [] if Bandit fails."""
    data = source.encode("utf-8", "surrogatepass")
    with _lock:
        manager = _manager()
        manager.results = []
        manager.scores = []
        manager.skipped = []
        manager.metrics = bandit_metrics.Metrics()
        try:
            manager._parse_file("<remediation>", io.BytesIO(data), ["<remediation>"])
        except (RecursionError, MemoryError, ValueError):
            return []
        issues: list[Any] = list(manager.results)
    findings = []
    for issue in issues:
        test_id = str(issue.test_id)
        if test_id in _OPS_NOISE:
            severity = Severity.INFO
        elif test_id in _DOWNGRADED_TO_LOW:
            severity = Severity.LOW
        else:
            severity = _BANDIT_SEVERITY.get(str(issue.severity), Severity.LOW)
        findings.append(
            Finding(
                f"bandit.{test_id}",
                severity,
                f"Bandit {test_id} ({issue.test}): {issue.text}",
                int(issue.lineno) if issue.lineno else None,
                "See the Bandit documentation for this check.",
            )
        )
    return findings
