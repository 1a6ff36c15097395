"""Agents claim approved scripts, run them in their own sandbox and report; the server only records.

The agent protocol, one run at a time (docs/agents.md has the HTTP side):

1. ``agent_work_list``: approved, QUEUED bash/python scripts in the agent's service scope whose
   needed capabilities (the language plus the template's ``required_capabilities``) the agent has.
2. ``agent_claim``: under the script's row lock, QUEUED -> RUNNING and a new
   ``ExecutionRun(environment=target, backend="agent")`` PENDING -> CLAIMED with a lease of
   EXECUTION_LEASE_SECONDS. The idempotency key is ``<script>:agent:<attempt>``. A second claim
   while the lease is live is refused (409).
3. ``agent_run_start``: CLAIMED -> RUNNING, the last check before launch (lease live, approval
   still bound to the text). Until this call nothing has run, so a CLAIMED run whose lease expired
   may be re-claimed by any agent; after it, an expired lease means the outcome is unknown and the
   script is never handed out again automatically (the lease sweep fails it).
4. ``agent_heartbeat`` renews the lease; ``agent_log_append`` stores batched output lines
   (deduplicated by ``seq``, so a retried batch is harmless) and publishes them live.
5. ``agent_report``: the run becomes SUCCESS / FAILED / TIMED_OUT and the script SUCCESS / FAILED
   through the execution service's own outcome handling (template statistics, notifications).
   A report whose SHA-256 is not the approved text's is refused (409) and audited.

Only the agent holding the claim may start, heartbeat, log or report: another agent gets 403, and
an agent that held the claim but lost it (released after its lease expired) gets 409.

Agent-backed execution is enabled by ``SANDBOX_BACKEND=agent``; with any other backend the server
runs queued scripts itself and these calls refuse (409 ``agent_backend_disabled``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from remediation.access import scripts_visible_to
from remediation.errors import ActionForbidden, InvalidInput, TransitionRefused
from remediation.lifecycle import Actor, record_event, transition_run, transition_script
from remediation.live_events import LogLineEvent, StatusEvent, publish, publish_many
from remediation.models import (
    Agent,
    ApprovalStatus,
    AuditEvent,
    ExecutionEnvironment,
    ExecutionLogLine,
    ExecutionRun,
    ExecutionStatus,
    RemediationScript,
    RunStatus,
    ValidationStatus,
)
from remediation.services import execution
from remediation.services.execution import AGENT_BACKEND, AGENT_LANGUAGES
from remediation.text_input import refuse_nul_characters

logger = logging.getLogger(__name__)

#: A primary key as the API and the ORM pass it.
ObjectId = uuid.UUID | str

#: Largest number of lines one log call may carry, and longest line kept.
MAX_LOG_BATCH = 1000
MAX_LOG_LINE_CHARS = 16_384
#: The run's stored ``log`` text is capped like the server's own runs.
MAX_LOG_TEXT_CHARS = 1_000_000
#: Output tails an agent reports are capped before they are stored.
MAX_TAIL_CHARS = 64 * 1024

_HELD = (RunStatus.CLAIMED, RunStatus.RUNNING)


# --------------------------------------------------------------------------- who is asking


def agent_of(user: Any) -> Agent:
    """The active agent behind ``user``; people and disabled agents are refused (403)."""
    user_id = getattr(user, "pk", None)
    agent = Agent.objects.filter(user_id=user_id).first() if user_id is not None else None
    if agent is None:
        raise ActionForbidden("Only agents may claim and report runs.", code="agent_required")
    if not agent.is_active:
        raise ActionForbidden(f"Agent {agent.name!r} is disabled.", code="agent_disabled")
    return agent


def agent_backend_enabled() -> bool:
    """SANDBOX_BACKEND=agent: bash/python scripts wait for agents (execution_perform leaves them)."""
    return bool(settings.SANDBOX_BACKEND == AGENT_BACKEND)


def _require_agent_backend() -> None:
    if not agent_backend_enabled():
        raise TransitionRefused(
            f"This server runs queued scripts itself (SANDBOX_BACKEND={settings.SANDBOX_BACKEND}); "
            "set SANDBOX_BACKEND=agent to hand them to agents.",
            code="agent_backend_disabled",
        )


def needed_capabilities(script: RemediationScript) -> set[str]:
    """The script's language plus everything its template requires."""
    needed = {script.script_language}
    if script.template is not None:
        needed.update(script.template.required_capabilities)
    return needed


# --------------------------------------------------------------------------- work list


def agent_work_list(*, agent: Agent, limit: int = 50) -> list[RemediationScript]:
    """Scripts this agent may claim now, oldest approval first.

    Also lists scripts whose agent run never started and whose lease expired (or was released):
    those are safe to hand out again, because nothing ran.
    """
    _require_agent_backend()
    capabilities = list(agent.capabilities)
    now = timezone.now()
    languages = [language for language in sorted(AGENT_LANGUAGES) if language in capabilities]
    reclaimable = Q(
        execution_status=ExecutionStatus.RUNNING,
        runs__backend=AGENT_BACKEND,
    ) & (Q(runs__status=RunStatus.PENDING) | Q(runs__status=RunStatus.CLAIMED, runs__lease_expires_at__lt=now))
    queryset: QuerySet[RemediationScript] = (
        scripts_visible_to(agent.user)
        .filter(
            approval_status=ApprovalStatus.APPROVED,
            validation_status=ValidationStatus.PASSED,
            is_current_revision=True,
            script_language__in=languages,
        )
        .filter(Q(template__isnull=True) | Q(template__required_capabilities__contained_by=capabilities))
        .filter(Q(execution_status=ExecutionStatus.QUEUED) | reclaimable)
        .select_related("template")
        .distinct()
        .order_by("approved_at", "created_at")
    )
    return list(queryset[:limit])


# --------------------------------------------------------------------------- claim


@dataclass(frozen=True)
class AgentClaim:
    """What an agent needs to run a claimed script: the approved text, its checks and limits."""

    run: ExecutionRun
    script: RemediationScript
    #: ValidationContext fields (JSON-ready) the server validated the script with.
    validation_context: dict[str, Any]
    #: SandboxLimits fields the run must stay within.
    limits: dict[str, Any]
    reclaimed: bool
    #: How long the lease lasts without a heartbeat; agents beat at a third of it.
    lease_seconds: int


class _BindingBroken(TransitionRefused):
    """The approved text is not the stored text any more, or the approval lapsed."""


def _claim_guard(locked: RemediationScript) -> None:
    if locked.approval_status != ApprovalStatus.APPROVED:
        raise TransitionRefused(
            f"Only an APPROVED script can be claimed (it is {locked.approval_status}).", code="not_approved"
        )
    if locked.validation_status != ValidationStatus.PASSED:
        raise TransitionRefused("Only a script whose validation PASSED can be claimed.", code="validation_not_passed")
    if not locked.is_current_revision:
        raise TransitionRefused("This revision was superseded.", code="superseded")
    if locked.script_language not in AGENT_LANGUAGES:
        raise TransitionRefused(
            f"Agents run bash and python only, not {locked.script_language}.", code="not_agent_runnable"
        )
    problem = approval_binding_error(locked)
    if problem:
        raise _BindingBroken(f"Refused at claim: {problem}.", code="approval_binding")


def agent_claim(*, agent: Agent, script: RemediationScript, worker: str = "") -> AgentClaim:
    """Claim ``script`` for ``agent`` (see the module docstring); 409 when someone holds it."""
    _require_agent_backend()
    missing = needed_capabilities(script) - set(agent.capabilities)
    if missing:
        raise ActionForbidden(
            f"Agent {agent.name!r} lacks the capabilities {sorted(missing)}.", code="capability_missing"
        )
    worker = worker[:200]
    try:
        if script.execution_status == ExecutionStatus.QUEUED:
            try:
                run = _claim_queued(agent, script, worker)
                reclaimed = False
            except TransitionRefused as refused:
                if refused.code != "illegal_transition":
                    raise
                # Lost the race for the QUEUED row: fall through to the re-claim path, which answers
                # 409 with the current holder.
                run = _reclaim_released(agent, script, worker)
                reclaimed = True
        else:
            run = _reclaim_released(agent, script, worker)
            reclaimed = True
    except _BindingBroken as broken:
        _fail_script_quietly(script.pk, broken.message)
        raise
    script = RemediationScript.objects.select_related("template").get(pk=script.pk)
    return AgentClaim(
        run=run,
        script=script,
        validation_context=_validation_context_json(script),
        limits=_limits_json(script),
        reclaimed=reclaimed,
        lease_seconds=settings.EXECUTION_LEASE_SECONDS,
    )


def _lease_until(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.EXECUTION_LEASE_SECONDS)


def _claim_queued(agent: Agent, script: RemediationScript, worker: str) -> ExecutionRun:
    actor = Actor.of(agent.user)
    now = timezone.now()
    with transaction.atomic():
        # The script's row lock, held to the end of this transaction, serialises concurrent claims.
        locked = transition_script(
            script.pk,
            field="execution_status",
            target=ExecutionStatus.RUNNING,
            actor=actor,
            verb="script.execution_claimed",
            guard=_claim_guard,
            updates={"executed_at": now},
            details={"agent": agent.name},
        )
        attempt = ExecutionRun.objects.filter(script=locked, backend=AGENT_BACKEND).count() + 1
        run = ExecutionRun.objects.create(
            script=locked,
            environment=ExecutionEnvironment.TARGET,
            backend=AGENT_BACKEND,
            attempt=attempt,
            idempotency_key=f"{locked.pk}:{AGENT_BACKEND}:{attempt}",
            script_sha256=locked.script_sha256,
        )
        return transition_run(
            run.pk,
            target=RunStatus.CLAIMED,
            actor=actor,
            verb="run.claimed",
            updates={"claimed_by": agent, "worker": worker, "lease_expires_at": _lease_until(now), "heartbeat_at": now},
            details={"agent": agent.name},
        )


def _reclaim_released(agent: Agent, script: RemediationScript, worker: str) -> ExecutionRun:
    """Hand out again an agent run that never started: released (PENDING) or CLAIMED past its lease."""
    actor = Actor.of(agent.user)
    now = timezone.now()
    with transaction.atomic():
        locked_script = RemediationScript.objects.select_for_update().get(pk=script.pk)
        run = (
            ExecutionRun.objects.select_for_update()
            .filter(script=locked_script, backend=AGENT_BACKEND, status__in=[RunStatus.PENDING, *_HELD])
            .order_by("-attempt")
            .first()
        )
        if locked_script.execution_status != ExecutionStatus.RUNNING or run is None:
            raise TransitionRefused(
                f"Script {script.pk} is {locked_script.execution_status}; there is nothing to claim.",
                code="not_claimable",
            )
        if run.status == RunStatus.RUNNING:
            raise TransitionRefused(
                "An agent started this run; if its lease lapsed the outcome is unknown, so it is never "
                "handed out again automatically.",
                code="run_in_progress",
            )
        if run.status == RunStatus.CLAIMED and run.lease_expires_at and run.lease_expires_at > now:
            holder = run.claimed_by.name if run.claimed_by else "another agent"
            raise TransitionRefused(f"Claimed by {holder} until {run.lease_expires_at.isoformat()}.", code="lease_held")
        _claim_guard(locked_script)
        if run.status == RunStatus.CLAIMED:
            previous = run.claimed_by.name if run.claimed_by else ""
            transition_run(
                run.pk,
                target=RunStatus.PENDING,
                actor=actor,
                verb="run.lease_released",
                updates={"claimed_by": None, "worker": "", "lease_expires_at": None},
                details={"previous_agent": previous, "reason": "lease expired before the run started"},
            )
        return transition_run(
            run.pk,
            target=RunStatus.CLAIMED,
            actor=actor,
            verb="run.claimed",
            updates={"claimed_by": agent, "worker": worker, "lease_expires_at": _lease_until(now), "heartbeat_at": now},
            details={"agent": agent.name, "reclaimed": True},
        )


def _validation_context_json(script: RemediationScript) -> dict[str, Any]:
    from remediation.services.validation import validation_context_for

    context = validation_context_for(rca=script.root_cause_analysis, target_system=script.target_system)
    return {
        name: (
            list(value)
            if isinstance(value, tuple)
            else str(value)
            if name in {"target_system", "strictness"}
            else value
        )
        for name, value in ((name, getattr(context, name)) for name in type(context).__dataclass_fields__)
    }


def _limits_json(script: RemediationScript) -> dict[str, Any]:
    limits = execution.execution_limits(script)
    return {"wall_seconds": limits.wall_seconds, "memory_bytes": limits.memory_bytes}


# --------------------------------------------------------------------------- holding the claim


def _claimed_run(agent: Agent, run_id: ObjectId, *, for_update: bool = False) -> ExecutionRun:
    """The run, when ``agent`` holds its claim: 403 for an agent that never did, 409 for one that lost it."""
    queryset = ExecutionRun.objects.select_related("script")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    run = queryset.get(pk=run_id)
    if run.backend != AGENT_BACKEND:
        raise ActionForbidden("This run is executed by the server, not by an agent.", code="not_agent_run")
    if run.claimed_by_id == agent.pk and run.status in _HELD:
        return run
    ever_claimed = AuditEvent.objects.filter(
        object_type="execution_run", object_id=str(run.pk), verb="run.claimed", actor=agent.user
    ).exists()
    if not ever_claimed:
        raise ActionForbidden("Only the agent holding this run's claim may act on it.", code="not_claimant")
    if run.claimed_by_id == agent.pk:
        raise TransitionRefused(f"Run {run.pk} is already {run.status}.", code="run_finished")
    raise TransitionRefused("Your lease on this run expired and the run was released.", code="lease_lost")


@dataclass(frozen=True)
class LeaseState:
    run_id: str
    status: str
    lease_expires_at: datetime | None


def agent_heartbeat(*, agent: Agent, run_id: ObjectId) -> LeaseState:
    """Renew the lease. Compare-and-swap on (claimant, held status), so a released run is never revived."""
    now = timezone.now()
    lease = _lease_until(now)
    renewed = ExecutionRun.objects.filter(pk=run_id, claimed_by=agent, status__in=_HELD, backend=AGENT_BACKEND).update(
        heartbeat_at=now, lease_expires_at=lease
    )
    if renewed != 1:
        _claimed_run(agent, run_id)  # raises with the reason (403 / 409)
    run = ExecutionRun.objects.only("status").get(pk=run_id)
    return LeaseState(str(run_id), run.status, lease)


def agent_run_start(*, agent: Agent, run_id: ObjectId) -> LeaseState:
    """CLAIMED -> RUNNING: the agent's last check before launch; refused once the lease has lapsed."""
    now = timezone.now()

    def still_held(locked: ExecutionRun) -> None:
        if locked.claimed_by_id != agent.pk:
            raise TransitionRefused("Your lease on this run expired and the run was released.", code="lease_lost")
        if locked.lease_expires_at is None or locked.lease_expires_at <= now:
            raise TransitionRefused(
                "The lease expired before the run started; claim the script again.", code="lease_expired"
            )
        problem = approval_binding_error(locked.script)
        if problem:
            raise TransitionRefused(f"Refused at the last check: {problem}.", code="approval_binding")

    _claimed_run(agent, run_id)
    run = transition_run(
        run_id,
        target=RunStatus.RUNNING,
        actor=Actor.of(agent.user),
        verb="run.started",
        guard=still_held,
        updates={"started_at": now, "heartbeat_at": now, "lease_expires_at": _lease_until(now)},
        details={"agent": agent.name},
    )
    return LeaseState(str(run.pk), run.status, run.lease_expires_at)


@dataclass(frozen=True)
class LogLineIn:
    seq: int
    stream: str
    text: str


@dataclass(frozen=True)
class LogAppendResult:
    stored: int
    duplicates: int


def agent_log_append(*, agent: Agent, run_id: ObjectId, lines: Sequence[LogLineIn]) -> LogAppendResult:
    """Store a batch of output lines; a ``seq`` already stored is skipped, so retries are harmless."""
    if len(lines) > MAX_LOG_BATCH:
        raise InvalidInput(f"At most {MAX_LOG_BATCH} lines per call.", field="lines")
    for line in lines:
        if line.stream not in {"stdout", "stderr"}:
            raise InvalidInput("stream is 'stdout' or 'stderr'.", field="lines")
        if line.seq < 1:
            raise InvalidInput("seq starts at 1.", field="lines")
    with transaction.atomic():
        run = _claimed_run(agent, run_id, for_update=True)
        wanted = {line.seq: line for line in lines if line.seq <= execution.MAX_LOG_LINES}
        existing = set(ExecutionLogLine.objects.filter(run=run, seq__in=list(wanted)).values_list("seq", flat=True))
        fresh = [wanted[seq] for seq in sorted(wanted) if seq not in existing]
        ExecutionLogLine.objects.bulk_create(
            [
                ExecutionLogLine(run=run, seq=line.seq, stream=line.stream, text=line.text[:MAX_LOG_LINE_CHARS])
                for line in fresh
            ],
            ignore_conflicts=True,
        )
        events: list[LogLineEvent] = [
            {
                "type": "log",
                "run_id": str(run.pk),
                "seq": line.seq,
                "stream": line.stream,
                "text": line.text[:MAX_LOG_LINE_CHARS],
            }
            for line in fresh
        ]

        def publish_lines() -> None:
            try:
                publish_many(events)  # one group message for the whole batch
            except Exception:
                logger.warning("could not publish %d live log line(s) for run %s", len(events), run_id, exc_info=True)

        transaction.on_commit(publish_lines)
    return LogAppendResult(stored=len(fresh), duplicates=len(lines) - len(fresh))


# --------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class AgentReport:
    """What an agent says it ran and how it ended.

    ``refused`` is set when the agent did not run the script at all (local validation FAILED, the
    text it received did not hash to the SHA-256 it was told); the run is then FAILED without a
    SHA-256 check, since nothing ran.
    """

    script_sha256: str
    exit_code: int | None = None
    timed_out: bool = False
    killed_reason: str = ""
    duration_ms: float = 0.0
    peak_memory_kb: int = 0
    stdout_tail: str = ""
    stderr_tail: str = ""
    refused: str = ""
    validation: dict[str, Any] = field(default_factory=dict)


def _run_outcome(report: AgentReport) -> str:
    if report.refused:
        return RunStatus.FAILED
    if report.timed_out:
        return RunStatus.TIMED_OUT
    if report.exit_code == 0 and not report.killed_reason:
        return RunStatus.SUCCESS
    return RunStatus.FAILED


def agent_report(*, agent: Agent, run_id: ObjectId, report: AgentReport) -> ExecutionRun:
    """Record the agent's result: run SUCCESS/FAILED/TIMED_OUT, script SUCCESS/FAILED (see module docstring)."""
    refuse_nul_characters(
        validation=report.validation,
        refused=report.refused,
        stdout_tail=report.stdout_tail,
        stderr_tail=report.stderr_tail,
    )
    run = _claimed_run(agent, run_id)
    script = run.script
    if not report.refused:
        approved = approved_sha256(script)
        if report.script_sha256 != run.script_sha256 or report.script_sha256 != approved:
            record_event(
                actor=Actor.of(agent.user),
                verb="run.result_refused",
                object_type="execution_run",
                object_id=run.pk,
                details={
                    "script_id": str(script.pk),
                    "reported_sha256": report.script_sha256,
                    "approved_sha256": approved,
                },
            )
            raise TransitionRefused(
                "The reported SHA-256 is not the approved text's; the result is refused.", code="sha_mismatch"
            )
        if run.status == RunStatus.CLAIMED:
            raise TransitionRefused(
                "Start the run (POST runs/{id}/start) before reporting its result.", code="not_started"
            )
    target = _run_outcome(report)
    log_lines = list(run.log_lines.order_by("seq").values_list("stream", "text"))
    log_text = "\n".join(f"[{stream}] {text}" if stream == "stderr" else text for stream, text in log_lines)
    if not log_lines:
        log_text = "\n".join(part for part in (report.stdout_tail, report.stderr_tail) if part)
    error = _error_text(report, target)

    def still_held(locked: ExecutionRun) -> None:
        if locked.claimed_by_id != agent.pk:
            raise TransitionRefused("Your lease on this run expired and the run was released.", code="lease_lost")

    updates: dict[str, Any] = {
        "finished_at": timezone.now(),
        "exit_code": report.exit_code,
        "killed_reason": report.killed_reason[:32],
        "log": log_text[-MAX_LOG_TEXT_CHARS:],
        "log_truncated": len(log_text) > MAX_LOG_TEXT_CHARS,
        "error": error,
        "lease_expires_at": None,
        "resource_usage": {
            "duration_ms": report.duration_ms,
            "peak_memory_kb": report.peak_memory_kb,
            "stdout_tail": report.stdout_tail[-MAX_TAIL_CHARS:],
            "stderr_tail": report.stderr_tail[-MAX_TAIL_CHARS:],
            **({"agent_validation": report.validation} if report.validation else {}),
        },
    }
    with transaction.atomic():
        run = transition_run(
            run.pk,
            target=target,
            actor=Actor.of(agent.user),
            verb="run.finished",
            guard=still_held,
            updates=updates,
            details={
                "exit_code": report.exit_code,
                "killed_reason": report.killed_reason,
                "refused": report.refused,
                "agent": agent.name,
            },
        )
        status_event: StatusEvent = {
            "type": "status",
            "run_id": str(run.pk),
            "seq": len(log_lines) + 1,
            "status": run.status,
            "exit_code": run.exit_code,
        }
        transaction.on_commit(lambda: _publish_quietly(status_event))
        current = RemediationScript.objects.get(pk=script.pk)
        if current.execution_status == ExecutionStatus.RUNNING:
            if target == RunStatus.SUCCESS:
                script_succeeded(current, Actor.of(agent.user))
            else:
                script_failed(current, f"Agent {agent.name}: {error}", Actor.of(agent.user))
    return run


def _error_text(report: AgentReport, target: str) -> str:
    if report.refused:
        return f"the agent refused to run it: {report.refused}"[:4000]
    if target == RunStatus.TIMED_OUT:
        return f"killed after its time limit ({report.duration_ms / 1000:.1f} s)"
    if target == RunStatus.FAILED:
        reason = f" ({report.killed_reason})" if report.killed_reason else ""
        tail = report.stderr_tail.strip().splitlines()[-1:] if report.stderr_tail.strip() else []
        return f"exit {report.exit_code}{reason}" + (f": {tail[0][:300]}" if tail else "")
    return ""


# --------------------------------------------------------------------------- thin wrappers over execution


def approval_binding_error(script: RemediationScript) -> str:
    """Why the approved text is not the stored text ('' when it is); the execution service's own rule."""
    return execution.approval_binding_error(script)


def approved_sha256(script: RemediationScript) -> str:
    from remediation.models import ApprovalDecision

    decision = (
        script.approval_decisions.filter(decision=ApprovalDecision.Decision.APPROVED).order_by("-created_at").first()
    )
    return decision.script_sha256 if decision else ""


def script_succeeded(script: RemediationScript, actor: Actor | None = None) -> RemediationScript:
    """RUNNING -> SUCCESS with template statistics and notifications, as the server's own runs."""
    return execution.execution_succeeded(script, **({"actor": actor} if actor else {}))


def script_failed(script: RemediationScript, reason: str, actor: Actor | None = None) -> RemediationScript:
    """RUNNING|QUEUED -> FAILED with template statistics and notifications, as the server's own runs."""
    return execution.execution_failed(script, reason, **({"actor": actor} if actor else {}))


def _fail_script_quietly(script_id: ObjectId, reason: str) -> None:
    script = RemediationScript.objects.get(pk=script_id)
    if script.execution_status in {ExecutionStatus.QUEUED, ExecutionStatus.RUNNING}:
        try:
            script_failed(script, reason)
        except TransitionRefused:
            pass  # someone else moved it first; their outcome stands


def _publish_quietly(event: Any) -> None:
    try:
        publish(event)
    except Exception:  # a dead channel layer must never break a report
        logger.warning("could not publish live event for run %s", event.get("run_id"), exc_info=True)
