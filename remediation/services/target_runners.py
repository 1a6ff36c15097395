"""Stage runners: how each script language is rehearsed and run against its target.

- bash / python: the configured backend (local bubblewrap sandbox, or a Kubernetes Job). On a single
  machine with the local backend the sandbox is also where the target stage runs; agents on hosts
  claim scripts through the API instead. The rehearsal gets REMEDIATION_DRY_RUN=1.
- sql: the service's target database (ServiceBudget.target_database_url_env names the environment
  variable holding its URL); the rehearsal runs in a transaction that is rolled back.
- config_patch: the file at parameters.config_path, inside the service's allowed paths; the
  rehearsal applies the diff in memory; the real run snapshots the file first.
- kubernetes: server-side dry run, then server-side apply with the previous objects saved
  (KUBERNETES_TARGET_CONFIG is the target cluster's kubeconfig).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings

from remediation.models import RunStatus, ServiceBudget
from remediation.models.access import TARGET_DATABASE_ENV_PATTERN

if TYPE_CHECKING:
    from remediation.models import ExecutionRun, RemediationScript
    from remediation.services.execution import RunLog, StageOutcome

StageRunner = Callable[["RemediationScript", "ExecutionRun", "RunLog"], "StageOutcome"]


def _outcome(**fields: Any) -> StageOutcome:
    from remediation.services.execution import StageOutcome

    return StageOutcome(**fields)


def sandbox_stage(*, dry_run: bool, text_of: Callable[[RemediationScript], str] | None = None) -> StageRunner:
    """Run the script (or ``text_of(script)``, e.g. its rollback) with the configured backend."""

    def run(script: RemediationScript, run: ExecutionRun, log: RunLog) -> StageOutcome:
        from remediation.services.execution import execution_limits

        text = text_of(script) if text_of else script.generated_script
        limits = execution_limits(script)
        env = {"REMEDIATION_DRY_RUN": "1" if dry_run else "0", "REMEDIATION_RUN_ID": str(run.pk)}
        if settings.SANDBOX_BACKEND == "kubernetes":
            from sandbox.kubernetes_job import KubernetesSandboxConfig, run_in_kubernetes

            config = KubernetesSandboxConfig.from_environment()
            result = run_in_kubernetes(
                text,
                language=script.script_language,
                limits=limits,
                config=config,
                run_id=str(run.pk),
                on_output=log,
                env=env,
            )
        else:
            from sandbox.local import run_in_sandbox

            result = run_in_sandbox(
                text,
                language=script.script_language,  # type: ignore[arg-type]
                limits=limits,
                on_output=log,
                env=env,
            )
        if result.timed_out:
            status = RunStatus.TIMED_OUT
        elif result.exit_code == 0:
            status = RunStatus.SUCCESS
        else:
            status = RunStatus.FAILED
        return _outcome(
            status=status,
            exit_code=result.exit_code,
            killed_reason=result.killed_reason or "",
            resource_usage={
                "duration_ms": result.duration_ms,
                "peak_memory_kb": result.peak_memory_kb,
                "stdout_truncated": result.stdout_truncated,
                "stderr_truncated": result.stderr_truncated,
            },
        )

    return run


def _budget(script: RemediationScript) -> ServiceBudget | None:
    return ServiceBudget.objects.for_service(script.service)


def from_target_result(result: Any, *, snapshot: bool = False) -> StageOutcome:
    return _outcome(
        status=RunStatus.SUCCESS if result.ok else RunStatus.FAILED,
        exit_code=result.exit_code,
        error="" if result.ok else result.summary,
        resource_usage={"duration_ms": result.duration_ms, "row_counts": getattr(result, "row_counts", None)},
        snapshot=result.snapshot if snapshot and result.snapshot else None,
    )


def service_paths(script: RemediationScript) -> list[str]:
    budget = _budget(script)
    return list(budget.allowed_paths) if budget else []


def unavailable_stage(reason: str) -> StageRunner:
    def run(script: RemediationScript, run: ExecutionRun, log: RunLog) -> StageOutcome:
        return _unavailable(reason, log)

    return run


def _unavailable(reason: str, log: RunLog) -> StageOutcome:
    log("stderr", reason)
    return _outcome(status=RunStatus.FAILED, exit_code=None, error=reason)


def sql_stage(*, rehearsal: bool, text_of: Callable[[RemediationScript], str] | None = None) -> StageRunner:
    def run(script: RemediationScript, run: ExecutionRun, log: RunLog) -> StageOutcome:
        from sandbox.targets.sql import run_sql
        from sandbox.targets.types import TargetUnavailable

        budget = _budget(script)
        variable = budget.target_database_url_env if budget else ""
        if variable and not re.match(TARGET_DATABASE_ENV_PATTERN, variable):
            return _unavailable(
                f"ServiceBudget.target_database_url_env must start with REMEDIATION_TARGET_DB_ "
                f"(service {script.service!r}).",
                log,
            )
        dsn = os.environ.get(variable, "") if variable else ""
        if not dsn:
            return _unavailable(
                f"No target database for service {script.service!r}: set ServiceBudget.target_database_url_env "
                f"to the name of an environment variable holding its URL.",
                log,
            )
        try:
            result = run_sql(
                text_of(script) if text_of else script.generated_script,
                dsn=dsn,
                rehearsal=rehearsal,
                statement_timeout_ms=settings.MAX_SCRIPT_EXECUTION_TIME * 1000,
                on_output=log,
            )
        except TargetUnavailable as exc:
            return _unavailable(str(exc), log)
        return from_target_result(result, snapshot=not rehearsal)

    return run


def config_stage(*, rehearsal: bool) -> StageRunner:
    def run(script: RemediationScript, run: ExecutionRun, log: RunLog) -> StageOutcome:
        from sandbox.targets.config_patch import apply_config_patch
        from sandbox.targets.types import TargetUnavailable

        parameters = script.root_cause_analysis.get("parameters") or {}
        path = str(parameters.get("config_path") or "")
        roots = service_paths(script)
        if not path:
            return _unavailable("The RCA names no parameters.config_path for the configuration patch.", log)
        current = parameters.get("current_config")
        if not roots:
            if rehearsal and isinstance(current, str):
                return _rehearse_in_memory(script.generated_script, path=path, current=current, log=log)
            return _unavailable(
                f"Service {script.service!r} allows no configuration paths (ServiceBudget.allowed_"
                f"paths); the patch is not applied.",
                log,
            )
        try:
            result = apply_config_patch(
                script.generated_script,
                path=path,
                allowed_roots=roots,
                rehearsal=rehearsal,
                expected_current=current if isinstance(current, str) else None,
                on_output=log,
            )
        except TargetUnavailable as exc:
            return _unavailable(str(exc), log)
        return from_target_result(result, snapshot=not rehearsal)

    return run


def _rehearse_in_memory(diff: str, *, path: str, current: str, log: RunLog) -> StageOutcome:
    """Apply the diff to the file text the RCA carried; nothing on this host is read or written."""
    from sandbox.targets.config_patch import PatchError, apply_unified_diff, check_config_parses

    try:
        patched = apply_unified_diff(current, diff)
    except PatchError as exc:
        return _unavailable(f"The patch does not apply to the current file: {exc}", log)
    problem = check_config_parses(path, patched)
    if problem:
        return _unavailable(f"The patched file does not parse: {problem}", log)
    log("stdout", f"patch applies cleanly to {path} and the result parses (in memory only)")
    return _outcome(status=RunStatus.SUCCESS, exit_code=0)


def kubernetes_client() -> Any:
    from kubernetes import client, config

    if settings.KUBERNETES_TARGET_CONFIG:
        return config.new_client_from_config(config_file=settings.KUBERNETES_TARGET_CONFIG)
    config.load_incluster_config()
    return client.ApiClient()


def kubernetes_stage(*, rehearsal: bool) -> StageRunner:
    def run(script: RemediationScript, run: ExecutionRun, log: RunLog) -> StageOutcome:
        from sandbox.targets.kubernetes_apply import apply_manifests
        from sandbox.targets.types import TargetUnavailable

        try:
            api_client = kubernetes_client()
        except Exception as exc:  # noqa: BLE001 - any config error means "no cluster to talk to"
            return _unavailable(f"No target Kubernetes cluster is configured (KUBERNETES_TARGET_CONFIG): {exc}", log)
        try:
            result = apply_manifests(script.generated_script, api_client=api_client, rehearsal=rehearsal, on_output=log)
        except TargetUnavailable as exc:
            return _unavailable(str(exc), log)
        return from_target_result(result, snapshot=not rehearsal)

    return run


def rehearsal_runner(script: RemediationScript) -> StageRunner:
    return _runner(script, rehearsal=True)


def target_runner(script: RemediationScript) -> StageRunner:
    return _runner(script, rehearsal=False)


def _runner(script: RemediationScript, *, rehearsal: bool) -> StageRunner:
    language = script.script_language
    if language in {"bash", "python"}:
        return sandbox_stage(dry_run=rehearsal)
    if language == "sql":
        return sql_stage(rehearsal=rehearsal)
    if language == "config_patch":
        return config_stage(rehearsal=rehearsal)
    if language == "kubernetes":
        return kubernetes_stage(rehearsal=rehearsal)
    raise ValueError(f"no runner for script language {language!r}")
