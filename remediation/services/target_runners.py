"""Stage runners: how each script language is rehearsed and run against its target.

bash and python: the configured backend (local bubblewrap sandbox, or a Kubernetes Job). On a
single machine with the local backend the sandbox is also where the target stage runs; agents on
hosts claim scripts through the API instead. The rehearsal gets REMEDIATION_DRY_RUN=1 and no network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

from remediation.models import RunStatus

if TYPE_CHECKING:
    from remediation.models import ExecutionRun, RemediationScript
    from remediation.services.execution import RunLog, StageOutcome, StageRunner


def _sandbox_stage(*, dry_run: bool) -> StageRunner:
    def run(script: RemediationScript, run: ExecutionRun, log: RunLog) -> StageOutcome:
        from remediation.services.execution import StageOutcome, execution_limits

        limits = execution_limits(script)
        env = {"REMEDIATION_DRY_RUN": "1" if dry_run else "0", "REMEDIATION_RUN_ID": str(run.pk)}
        if settings.SANDBOX_BACKEND == "kubernetes":
            from sandbox.kubernetes_job import KubernetesSandboxConfig, run_in_kubernetes

            config = KubernetesSandboxConfig(
                kubeconfig_path=settings.KUBERNETES_SANDBOX_CONFIG or None,
                namespace=settings.KUBERNETES_SANDBOX_NAMESPACE,
            )
            result = run_in_kubernetes(script.generated_script, language=script.script_language, limits=limits,
                                       config=config, run_id=str(run.pk), on_output=log)
        else:
            from sandbox.local import run_in_sandbox

            result = run_in_sandbox(script.generated_script, language=script.script_language,  # type: ignore[arg-type]
                                    limits=limits, on_output=log, env=env)
        if result.timed_out:
            status = RunStatus.TIMED_OUT
        elif result.exit_code == 0:
            status = RunStatus.SUCCESS
        else:
            status = RunStatus.FAILED
        return StageOutcome(
            status=status,
            exit_code=result.exit_code,
            killed_reason=result.killed_reason or "",
            resource_usage={"duration_ms": result.duration_ms, "peak_memory_kb": result.peak_memory_kb,
                            "stdout_truncated": result.stdout_truncated, "stderr_truncated": result.stderr_truncated},
        )

    return run


def _unavailable(reason: str) -> StageRunner:
    def run(script: RemediationScript, run: ExecutionRun, log: RunLog) -> StageOutcome:
        from remediation.services.execution import StageOutcome

        log("stderr", reason)
        return StageOutcome(status=RunStatus.FAILED, exit_code=None, error=reason)

    return run


def rehearsal_runner(script: RemediationScript) -> StageRunner:
    if script.script_language in {"bash", "python"}:
        return _sandbox_stage(dry_run=True)
    return _unavailable(f"No rehearsal runner is configured for {script.script_language} scripts.")


def target_runner(script: RemediationScript) -> StageRunner:
    if script.script_language in {"bash", "python"}:
        return _sandbox_stage(dry_run=False)
    return _unavailable(f"No target runner is configured for {script.script_language} scripts.")
