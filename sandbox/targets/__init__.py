"""Target runners: run an approved script against the real target, rehearsal first, with a snapshot for
rollback. Free of Django. See docs/target-runners.md.

* SQL (PostgreSQL): :func:`run_sql`, :func:`restore_sql_snapshot`
* Configuration patch (unified diff on one file): :func:`apply_config_patch`, :func:`restore_config_snapshot`
* Kubernetes manifests (server-side apply): :func:`apply_manifests`, :func:`restore_kubernetes_snapshot`

bash and python run in the local sandbox (sandbox.local) or as a Kubernetes Job (sandbox.kubernetes_job).
"""

from sandbox.targets.config_patch import (
    PatchError,
    apply_config_patch,
    apply_unified_diff,
    check_config_parses,
    restore_config_snapshot,
)
from sandbox.targets.kubernetes_apply import apply_manifests, restore_kubernetes_snapshot
from sandbox.targets.sql import restore_sql_snapshot, rollback_sql_for_snapshot, run_sql
from sandbox.targets.types import OutputCallback, TargetResult, TargetUnavailable

__all__ = [
    "OutputCallback",
    "PatchError",
    "TargetResult",
    "TargetUnavailable",
    "apply_config_patch",
    "apply_manifests",
    "apply_unified_diff",
    "check_config_parses",
    "restore_config_snapshot",
    "restore_kubernetes_snapshot",
    "restore_sql_snapshot",
    "rollback_sql_for_snapshot",
    "run_sql",
]
