"""From a stored RCA finding to a generated, validated, scored and routed script.

Template path first (fully offline); the LLM path when no template fits and an LLM is configured;
otherwise the finding goes to the manual review queue with the reason. Generation is idempotent:
a script that already has content (or a recorded failure) is left as it is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from pgvector.django import CosineDistance

from remediation.confidence import ConfidenceInputs, effective_line_count, score_confidence
from remediation.lifecycle import SYSTEM, record_event
from remediation.llm.client import LlmError, LlmOutputError, LlmSettings, generate_script
from remediation.llm.embeddings import Embedder, embedder_for_backend, rca_embedding_text
from remediation.llm.prompt import PromptInputs, build_messages
from remediation.llm.scrub import scrub_rca
from remediation.models import ExecutionStatus, Generator, RemediationScript
from remediation.services.routing import route_script
from remediation.services.validation import ScriptValidation, run_validators, store_validation
from templates_app.models import RemediationTemplate
from templates_app.rendering import TemplateRenderError, render_template
from templates_app.selectors import TemplateCandidate, current_version, rank_templates, template_specs
from templates_app.variables import VariableError, resolve_variables

logger = logging.getLogger(__name__)

#: The script language asked of the LLM for a target system when no template says otherwise.
DEFAULT_LANGUAGE_FOR_TARGET = {
    "linux": "bash",
    "kubernetes": "kubernetes",
    "postgresql": "sql",
    "nginx": "config_patch",
    "application": "config_patch",
}

#: Told to the LLM; the validators enforce them regardless of what it writes.
FORBIDDEN_OPERATIONS = (
    "recursive deletion of /, of system directories, or of paths built from unset variables",
    "writing to block devices, formatting or partitioning disks",
    "downloading code and running it (curl | sh), eval of dynamic text, obfuscated commands",
    "disabling firewalls, SELinux/AppArmor, auditing or logging; clearing shell history",
    "changing users, sudoers, SSH keys, cron jobs or startup files",
    "DROP/TRUNCATE, DELETE or UPDATE without a precise WHERE, ALTER SYSTEM, GRANT to PUBLIC, COPY ... PROGRAM",
    "privileged pods, hostPath/hostNetwork/hostPID, added capabilities, cluster-admin bindings",
    "touching resources, namespaces, databases or hosts other than the ones named in the RCA",
    "sending data off the host except to the endpoints named in the RCA",
)


@dataclass
class Draft:
    """A script candidate before it is stored."""

    script: str
    rollback: str | None
    language: str
    generator: str
    explanation: str = ""
    candidate: TemplateCandidate | None = None
    completeness: float = 0.0
    model_name: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    notes: list[str] = field(default_factory=list)
    #: The RCA carried values a template refused: never HIGH, whatever the score.
    refused_inputs: bool = False
    #: A configured fallback action: LOW at most.
    fallback: bool = False
    #: Set when the draft was already validated (the LLM repair loop), so it is not validated twice.
    validation: ScriptValidation | None = None
    #: The template (and version) behind a reused script, for its statistics and history factor.
    reused_template: Any = None
    reused_template_version: Any = None


def llm_settings() -> LlmSettings:
    return LlmSettings(
        api_key=settings.OPENAI_API_KEY or None,
        base_url=settings.OPENAI_BASE_URL or None,
        model=settings.SCRIPT_GENERATION_MODEL,
        timeout_seconds=settings.OPENAI_TIMEOUT_SECONDS,
        max_retries=settings.OPENAI_MAX_RETRIES,
    )


def embedder() -> Embedder:
    """The embedder EMBEDDING_BACKEND names; an explicit choice that cannot work fails loudly."""
    return embedder_for_backend(settings.EMBEDDING_BACKEND, llm_settings())


class RcaEmbedding:
    """The RCA's vector, computed at most once per generation (an OpenAI embedding is a paid call)."""

    def __init__(self, rca: dict[str, Any]) -> None:
        self._rca = rca
        self._vector: list[float] | None = None
        self.embedder = embedder()

    @property
    def vector(self) -> list[float]:
        if self._vector is None:
            self._vector = self.embedder.embed(rca_embedding_text(self._rca))
        return self._vector


def script_generate(*, script_id: UUID | str, no_llm: bool = False, final_attempt: bool = True) -> RemediationScript:
    """Fill a requested script; returns it with statuses routed. Safe to call twice.

    With ``final_attempt=False`` (a Celery task that can still retry), a retryable LLM failure
    (provider outage, rate limit) is raised so the task retries later; on the final attempt it sends
    the finding to manual review instead.
    """
    script = RemediationScript.objects.get(pk=script_id)
    if script.generator != Generator.NONE or script.error:
        return script
    rca = script.root_cause_analysis
    notes: list[str] = []
    draft = _reuse_draft(script, notes) or _template_draft(rca, notes)
    llm = llm_settings()
    spent = LlmSpend()
    embedding = RcaEmbedding(rca)
    if draft is None and llm.enabled and not no_llm:
        draft = _llm_draft(script, rca, llm, notes, spent, embedding, final_attempt=final_attempt)
    if draft is None:
        draft = _fallback_draft(rca, notes)
    if draft is None:
        return _send_to_manual_review(script, notes, spent)
    return _store_draft(script, rca, draft, embedding)


def _reuse_draft(script: RemediationScript, notes: list[str]) -> Draft | None:
    """An exact repeat of a finding whose approved script succeeded reuses that script's text.

    It is offered, not run: the new script is validated, scored and routed like any other, and an
    approval binds to it afresh.
    """
    proven = (
        RemediationScript.objects.filter(
            fingerprint=script.fingerprint, execution_status=ExecutionStatus.SUCCESS, is_current_revision=True
        )
        .exclude(pk=script.pk)
        .select_related("template")
        .order_by("-executed_at")
        .first()
    )
    if proven is None:
        return None
    notes.append(f"reuses script {proven.pk} (revision {proven.revision}), which succeeded for the same finding")
    factors = proven.confidence_factors or {}
    return Draft(
        script=proven.generated_script,
        rollback=proven.rollback_script,
        language=proven.script_language,
        generator=Generator.REUSE,
        explanation=proven.explanation,
        reused_template=proven.template,
        reused_template_version=proven.template_version,
        completeness=float(factors.get("completeness", 0.0) or 0.0),
        notes=notes,
    )


def _fallback_draft(rca: dict[str, Any], notes: list[str]) -> Draft | None:
    """The predefined action configured for the category (GENERATION_FALLBACK_TEMPLATES), if any."""
    name = settings.GENERATION_FALLBACK_TEMPLATES.get(rca["root_cause_category"])
    if not name:
        return None
    template = RemediationTemplate.objects.filter(name=name, is_active=True, is_quarantined=False).first()
    if template is None:
        notes.append(f"fallback template {name!r} is missing, inactive or quarantined")
        return None
    specs = template_specs(template)
    resolved = resolve_variables(specs, rca)
    if not resolved.ok:
        problems = resolved.missing + [f"{e.variable}: {e.reason}" for e in resolved.errors]
        notes.append(f"fallback template {name}: cannot fill {', '.join(problems)}")
        return None
    try:
        rendered = render_template(
            content=template.template_content,
            rollback=template.rollback_content,
            language=template.script_language,
            specs=specs,
            values=resolved.values,
        )
    except (VariableError, TemplateRenderError) as exc:
        notes.append(f"fallback template {name}: {exc}")
        return None
    notes.append(f"no remediation fits; using the configured fallback action {name}")
    return Draft(
        script=rendered.script,
        rollback=rendered.rollback,
        language=rendered.language,
        generator=Generator.FALLBACK,
        explanation=template.description,
        candidate=TemplateCandidate(template, specs, resolved, 0.0),
        completeness=resolved.completeness,
        notes=notes,
        fallback=True,
    )


@dataclass
class LlmSpend:
    """Tokens and cost of every LLM call for one script, usable replies or not."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None

    def add(self, prompt_tokens: int, completion_tokens: int, cost_usd: float | None) -> None:
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        if cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + cost_usd


def _template_draft(rca: dict[str, Any], notes: list[str]) -> Draft | None:
    candidates = rank_templates(rca)
    # A value refused by any template (shell metacharacters in a path, say) marks the whole finding
    # as suspicious, even when another template that does not need that value renders fine.
    refused = sorted({f"{e.variable}: {e.reason}" for c in candidates for e in c.resolved.errors})
    if refused:
        notes.append("refused RCA value(s) — " + "; ".join(refused))
    for candidate in candidates:
        name = candidate.template.name
        if candidate.resolved.missing:
            notes.append(f"template {name}: missing variable(s) {', '.join(candidate.resolved.missing)}")
            continue
        if candidate.resolved.errors:
            notes.append(f"template {name}: not used, it needs a refused value")
            continue
        try:
            rendered = render_template(
                content=candidate.template.template_content,
                rollback=candidate.template.rollback_content,
                language=candidate.template.script_language,
                specs=candidate.specs,
                values=candidate.resolved.values,
            )
        except (VariableError, TemplateRenderError) as exc:
            notes.append(f"template {name}: {exc}")
            continue
        return Draft(
            script=rendered.script,
            rollback=rendered.rollback,
            language=rendered.language,
            generator=Generator.TEMPLATE,
            explanation=candidate.template.description,
            candidate=candidate,
            completeness=candidate.resolved.completeness,
            notes=notes,
            refused_inputs=bool(refused),
        )
    if not notes:
        notes.append(f"no template covers {rca['root_cause_category']} on {rca['target_system']}")
    return None


def _llm_draft(
    script: RemediationScript,
    rca: dict[str, Any],
    llm: LlmSettings,
    notes: list[str],
    spent: LlmSpend,
    embedding: RcaEmbedding,
    *,
    final_attempt: bool,
) -> Draft | None:
    scrubbed, redactions = scrub_rca(rca)
    with transaction.atomic():
        for redaction in redactions:
            record_event(
                actor=SYSTEM,
                verb="rca.redacted",
                object_type="script",
                object_id=script.pk,
                details={"kind": redaction.kind, "path": redaction.path, "count": redaction.count},
            )
    language = DEFAULT_LANGUAGE_FOR_TARGET[rca["target_system"]]
    inputs = PromptInputs(
        rca=scrubbed,
        language=language,
        target_system=rca["target_system"],
        budget={
            "max_execution_seconds": settings.MAX_SCRIPT_EXECUTION_TIME,
            "memory_limit_mb": settings.SCRIPT_EXECUTION_MEMORY_LIMIT // 2**20,
        },
        forbidden_operations=FORBIDDEN_OPERATIONS,
        closest_template=_closest_template_text(rca),
        similar_scripts=similar_successful_scripts(embedding),
    )
    draft: Draft | None = None
    for round_number in range(settings.LLM_REPAIR_ROUNDS + 1):
        try:
            answer = generate_script(build_messages(inputs), settings=llm, expected_language=language)
        except LlmOutputError as exc:
            # A reply that was paid for but unusable still counts.
            spent.add(exc.prompt_tokens, exc.completion_tokens, exc.cost_usd)
            notes.append(f"LLM round {round_number + 1}: {exc}")
            break
        except LlmError as exc:
            if exc.retryable and not final_attempt and draft is None:
                raise
            notes.append(f"LLM round {round_number + 1}: {exc}")
            break
        spent.add(answer.prompt_tokens, answer.completion_tokens, answer.cost_usd)
        draft = Draft(
            script=answer.script,
            rollback=answer.rollback_script or None,
            language=answer.language,
            generator=Generator.LLM,
            explanation=answer.explanation,
            model_name=answer.model,
            prompt_tokens=spent.prompt_tokens,
            completion_tokens=spent.completion_tokens,
            cost_usd=spent.cost_usd,
            notes=notes,
        )
        result = run_validators(
            script=draft.script,
            rollback=draft.rollback,
            language=language,
            rca=rca,
            target_system=rca["target_system"],
        )
        draft.validation = result
        if result.passed:
            break
        findings = [f.as_dict() for f in result.forward.findings]
        if result.rollback:
            findings += [{**f.as_dict(), "in": "rollback_script"} for f in result.rollback.findings]
        notes.append(f"LLM round {round_number + 1}: validation failed with {len(findings)} finding(s)")
        inputs = PromptInputs(**{**inputs.__dict__, "previous_findings": findings, "previous_script": draft.script})
    return draft


def _closest_template_text(rca: dict[str, Any]) -> str | None:
    ranked = rank_templates(rca)
    return ranked[0].template.template_content if ranked else None


def similar_successful_scripts(embedding: RcaEmbedding, *, limit: int = 3) -> list[str]:
    """Scripts that remediated the most similar incidents and succeeded (pgvector cosine search)."""
    # Vectors from different embedders live in different spaces: compare like with like only.
    nearest = (
        RemediationScript.objects.filter(
            execution_status=ExecutionStatus.SUCCESS, embedding__isnull=False, embedding_model=embedding.embedder.name
        )
        .annotate(distance=CosineDistance("embedding", embedding.vector))
        .order_by("distance")[:limit]
    )
    return [s.generated_script for s in nearest if s.distance is not None and s.distance < 0.5]


def _send_to_manual_review(script: RemediationScript, notes: list[str], spent: LlmSpend) -> RemediationScript:
    reason = "No script could be produced; sent to manual review: " + "; ".join(notes)
    if not llm_settings().enabled:
        reason += ". No LLM is configured (OPENAI_API_KEY / OPENAI_BASE_URL)."
    with transaction.atomic():
        RemediationScript.objects.filter(pk=script.pk).update(
            error=reason,
            needs_detailed_review=True,
            prompt_tokens=spent.prompt_tokens,
            completion_tokens=spent.completion_tokens,
            cost_usd=Decimal(str(round(spent.cost_usd, 6))) if spent.cost_usd is not None else None,
        )
        record_event(
            actor=SYSTEM,
            verb="generation.manual_review",
            object_type="script",
            object_id=script.pk,
            details={"reason": reason},
        )
        from remediation.services.notify import notify_script_needs_review

        script.refresh_from_db()
        notify_script_needs_review(script)
    return script


def _store_draft(
    script: RemediationScript, rca: dict[str, Any], draft: Draft, embedding: RcaEmbedding
) -> RemediationScript:
    result: ScriptValidation = draft.validation or run_validators(
        script=draft.script,
        rollback=draft.rollback,
        language=draft.language,
        rca=rca,
        target_system=rca["target_system"],
    )
    template = draft.candidate.template if draft.candidate else draft.reused_template
    confidence = score_confidence(
        ConfidenceInputs(
            rca_confidence=float(rca["confidence"]),
            has_template=template is not None,
            completeness=draft.completeness,
            validation_passed=result.passed,
            validation_has_minor_findings=result.has_minor_findings,
            effective_lines=effective_line_count(draft.script),
            template_successes=template.success_count if template else 0,
            template_failures=template.failure_count if template else 0,
            refused_inputs=draft.refused_inputs,
            fallback=draft.fallback,
        )
    )
    with transaction.atomic():
        fields = {
            "generated_script": draft.script,
            "rollback_script": draft.rollback,
            "script_language": draft.language,
            "explanation": draft.explanation,
            "generator": draft.generator,
            "template": template,
            "template_version": draft.reused_template_version or (current_version(template) if template else None),
            "model_name": draft.model_name,
            "prompt_tokens": draft.prompt_tokens,
            "completion_tokens": draft.completion_tokens,
            "cost_usd": Decimal(str(round(draft.cost_usd, 6))) if draft.cost_usd is not None else None,
            "confidence_score": Decimal(str(confidence.score)),
            "confidence_level": str(confidence.level),
            "confidence_factors": confidence.factors,
            "embedding": embedding.vector,
            "embedding_model": embedding.embedder.name,
        }
        for name, value in fields.items():
            setattr(script, name, value)
        script.save(update_fields=list(fields))
        record_event(
            actor=SYSTEM,
            verb="script.generated",
            object_type="script",
            object_id=script.pk,
            after={
                "generator": draft.generator,
                "template": template.name if template else None,
                "template_version": template.version if template else None,
                "confidence_score": confidence.score,
                "confidence_level": str(confidence.level),
            },
            details={"notes": draft.notes, "model": draft.model_name},
        )
        script = store_validation(script=script, result=result, actor=SYSTEM)
        script = route_script(script=script)
    return script
