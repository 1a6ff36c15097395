"""Template promotion: an LLM-written remediation that keeps working is proposed as a template.

Rule (issue 4): when approved, LLM-generated scripts of one kind (same root-cause category, script
language and target system) have succeeded ``TEMPLATE_PROMOTION_SUCCESSES`` times, the latest of
them is proposed to supervisors as a new template. Nothing is promoted silently: the proposal is a
:class:`~templates_app.models.TemplateProposal` row, an audit event and a notification; only a
supervisor turns it into a template (:func:`proposal_accept`) or dismisses it (:func:`proposal_dismiss`).
After a proposal, another one for the same kind needs ``TEMPLATE_PROMOTION_SUCCESSES`` *new*
successes, so a dismissed idea is not proposed again on the next run.

Lifting variables: the literal values the source RCA carried in ``parameters`` (a namespace, a unit,
a path, a retention in days) are replaced in the script by ``{{ name | <filter> }}`` with the quoting
filter of the script's language, and each gets a typed variable spec (the seed library's spec for a
known parameter name, else the narrowest type that accepts the value). Each occurrence is lifted
only if the template still passes :func:`templates_app.rendering.check_template_definition`; an
occurrence where quoting would not protect the value (inside a larger double-quoted string, a
comment, a larger literal) stays literal, and the proposal says so for the reviewer. Values that
look like secrets, single characters (too ambiguous to find safely) and whole files
(``current_config``) are never lifted.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from remediation.access import Role, has_role
from remediation.errors import ActionForbidden, InvalidInput, TransitionRefused
from remediation.lifecycle import SYSTEM, Actor, record_event, transition_proposal
from remediation.llm.scrub import scrub_rca
from remediation.models import ApprovalStatus, ExecutionStatus, Generator, RemediationScript
from templates_app.models import RemediationTemplate, TemplateProposal, TemplateSource
from templates_app.rendering import check_template_definition
from templates_app.seed_library import load_seed_templates
from templates_app.variables import (
    BARE_SAFE_TYPES,
    TemplateDefinitionError,
    VariableError,
    VariableSpec,
    VariableType,
    coerce_value,
)

logger = logging.getLogger(__name__)

#: The quoting filter a lifted text value gets, per script language (SQL decides per occurrence).
TEXT_FILTER = {"bash": "shell", "python": "py", "kubernetes": "yaml", "config_patch": "config"}

#: Capabilities a promoted template needs when no seed of the same language and target says otherwise.
DEFAULT_CAPABILITIES = {
    "bash": ["bash"],
    "python": ["python"],
    "sql": ["psql"],
    "kubernetes": ["k8s:apply"],
    "config_patch": ["config:patch"],
}

#: Types tried, narrowest first, for a parameter name the seed library does not know.
_INFERRED_TEXT_TYPES = (
    VariableType.SYSTEMD_UNIT,
    VariableType.IDENTIFIER,
    VariableType.K8S_NAME,
    VariableType.HOSTNAME,
    VariableType.SETTING_KEY,
    VariableType.CONFIG_VALUE,
)
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: A NUL byte never occurs in a script the validators passed, nor in an accepted value: it frames
#: the placeholders while lifting, so a later value cannot match inside an earlier placeholder.
_SENTINEL = "\x00"
_JINJA_OPENERS = re.compile(r"\{[{%#]")


# --- lifting literal values into template variables (no database) -----------------------------------


@dataclass
class LiftResult:
    """A script turned into template text, with the variables that were actually lifted."""

    content: str
    variables: list[VariableSpec]
    #: For the reviewer: values kept literal and why.
    notes: list[str] = field(default_factory=list)


@dataclass
class _Work:
    """Text with sentinel-framed slots; ``slots[i]`` is the template text of slot i."""

    text: str
    slots: list[str]

    def add_slot(self, snippet: str) -> str:
        self.slots.append(snippet)
        return f"{_SENTINEL}{len(self.slots) - 1}{_SENTINEL}"

    def render(self) -> str:
        return re.sub(f"{_SENTINEL}(\\d+){_SENTINEL}", lambda m: self.slots[int(m.group(1))], self.text)


def _escape_jinja(text: str) -> _Work:
    """The script as template text that renders back to itself: `{{`, `{%`, `{#` become constants."""
    work = _Work(text="", slots=[])
    work.text = _JINJA_OPENERS.sub(lambda m: work.add_slot("{{ " + repr(m.group(0)) + " }}"), text)
    return work


def _occurrence_pattern(value: str, language: str, *, numeric: bool) -> re.Pattern[str]:
    """``value`` as a whole token: not glued to letters, digits or path characters on either side."""
    glue = r"A-Za-z0-9_\-/\x00"
    # In SQL a dot separates schema and table, so "orders" in public.orders is a token of its own.
    if numeric or language != "sql":
        glue += "."
    return re.compile(rf"(?<![{glue}]){re.escape(value)}(?![{glue}])")


def _placeholder(
    spec: VariableSpec, value: str, text: str, start: int, end: int, language: str
) -> tuple[int, int, str] | None:
    """The span to replace (quotes included when the quoting filter brings its own) and its template text."""
    name = spec.name
    if spec.variable_type in BARE_SAFE_TYPES:
        return start, end, "{{ " + name + " }}"
    before, after = text[start - 1 : start], text[end : end + 1]
    quoted = before in {"'", '"'} and after == before
    if language == "sql":
        if quoted and before == "'":
            # 'value' or E'value' -> an E'' literal of the same string.
            escape_prefix = text[start - 2 : start - 1] in {"E", "e"} and not text[start - 3 : start - 2].isalnum()
            return start - (2 if escape_prefix else 1), end + 1, "{{ " + name + " | sql_literal }}"
        if quoted:
            return start - 1, end + 1, "{{ " + name + " | sql_ident }}"
        # A bare identifier folds to lower case; quoting it would change which object it names otherwise.
        if value != value.lower():
            return None
        return start, end, "{{ " + name + " | sql_ident }}"
    text_filter = TEXT_FILTER[language]
    if quoted and text_filter != "config":
        return start - 1, end + 1, "{{ " + name + " | " + text_filter + " }}"
    return start, end, "{{ " + name + " | " + text_filter + " }}"


def _definition_ok(content: str, language: str, specs: Sequence[VariableSpec]) -> str | None:
    try:
        check_template_definition(content=content, rollback=None, language=language, specs=list(specs))
    except TemplateDefinitionError as exc:
        return str(exc)
    return None


def lift_values(text: str, *, language: str, variables: Sequence[tuple[VariableSpec, object]]) -> LiftResult:
    """Replace each literal value by its variable where the template stays safe; keep it literal elsewhere."""
    work = _escape_jinja(text)
    base_problem = _definition_ok(work.render(), language, [])
    if base_problem:
        raise TemplateDefinitionError(f"the script cannot be a template even without variables: {base_problem}")
    lifted: list[VariableSpec] = []
    notes: list[str] = []
    # Longest values first, so "/var/cache/checkout" is lifted before a shorter value inside it could be.
    for spec, value in sorted(variables, key=lambda item: -len(str(item[1]))):
        literal = str(value)
        numeric = spec.variable_type in BARE_SAFE_TYPES
        pattern = _occurrence_pattern(literal, language, numeric=numeric)
        used = False
        kept: list[str] = []
        position = 0
        while match := pattern.search(work.text, position):
            replacement = _placeholder(spec, literal, work.text, match.start(), match.end(), language)
            if replacement is None:
                kept.append("a bare SQL identifier with upper-case letters")
                position = match.end()
                continue
            start, end, snippet = replacement
            candidate = _Work(text=work.text, slots=list(work.slots))
            marker = candidate.add_slot(snippet)
            candidate.text = candidate.text[:start] + marker + candidate.text[end:]
            problem = _definition_ok(candidate.render(), language, [*lifted, spec])
            if problem is None:
                work = candidate
                used = True
                position = start + len(marker)
            else:
                kept.append(problem)
                position = match.end()
        if used:
            lifted.append(spec)
        if kept:
            line_hint = "; ".join(sorted(set(kept)))[:300]
            notes.append(f"{spec.name}: {len(kept)} occurrence(s) of {literal!r} kept literal ({line_hint})")
        elif not used:
            notes.append(f"{spec.name}: {literal!r} does not occur in the script")
    declared_order = [spec.name for spec, _ in variables]
    lifted.sort(key=lambda spec: declared_order.index(spec.name))
    return LiftResult(content=work.render(), variables=lifted, notes=notes)


@functools.cache
def _seed_specs() -> dict[str, VariableSpec]:
    """The seed library's declaration of each parameter name (first seed that declares it)."""
    specs: dict[str, VariableSpec] = {}
    for seed in load_seed_templates():
        for spec in seed.template_variables:
            specs.setdefault(spec.name, spec)
    return specs


def _accepts(spec: VariableSpec, value: object) -> bool:
    try:
        coerce_value(spec, value)
    except VariableError:
        return False
    return True


def spec_for(name: str, value: object, *, source_script_id: object) -> VariableSpec | None:
    """A typed declaration for one RCA parameter, or None when it should not be lifted."""
    description = f"Lifted from parameters.{name} of script {source_script_id}."
    known = _seed_specs().get(name)
    if known is not None:
        spec = VariableSpec(
            name=name,
            type=known.type,
            pattern=known.pattern,
            minimum=known.minimum,
            maximum=known.maximum,
            choices=known.choices,
            allow_system_paths=known.allow_system_paths,
            description=description,
        )
        if _accepts(spec, value):
            return spec
    candidates: tuple[VariableType, ...]
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        candidates = (VariableType.INTEGER,)
    elif isinstance(value, str) and value.startswith("/"):
        candidates = (VariableType.PATH,)
    elif isinstance(value, str):
        candidates = _INFERRED_TEXT_TYPES
    else:
        return None
    for kind in candidates:
        spec = VariableSpec(name=name, type=kind, description=description)
        if _accepts(spec, value):
            return spec
    return None


def liftable_parameters(
    parameters: Mapping[str, Any], *, source_script_id: object
) -> tuple[list[tuple[VariableSpec, object]], list[str]]:
    """The RCA parameters worth lifting, with their specs; and notes on those left out."""
    _, redactions = scrub_rca({"parameters": dict(parameters)})
    secret_names = {r.path.split(".", 1)[1].split("[", 1)[0] for r in redactions if r.path.startswith("parameters.")}
    chosen: list[tuple[VariableSpec, object]] = []
    notes: list[str] = []
    for name, value in parameters.items():
        if name == "current_config" or not _NAME.fullmatch(name):
            continue
        if name in secret_names:
            notes.append(f"{name}: looks like a secret, not lifted")
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            continue
        if len(str(value)) < 2:
            notes.append(f"{name}: {value!r} is too short to find reliably in the script; kept literal")
            continue
        spec = spec_for(name, value, source_script_id=source_script_id)
        if spec is None:
            notes.append(f"{name}: no safe type accepts {str(value)[:60]!r}; kept literal")
            continue
        chosen.append((spec, value))
    return chosen, notes


# --- proposals -------------------------------------------------------------------------------------


def _proven_scripts(script: RemediationScript) -> Any:
    return RemediationScript.objects.filter(
        generator=Generator.LLM,
        root_cause_category=script.root_cause_category,
        script_language=script.script_language,
        target_system=script.target_system,
        approval_status=ApprovalStatus.APPROVED,
        execution_status=ExecutionStatus.SUCCESS,
    )


def _kind_lock(script: RemediationScript) -> None:
    """Serialise proposals for one kind of script: two executions finishing together make one proposal."""
    key = f"template-proposal:{script.root_cause_category}:{script.script_language}:{script.target_system}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])


def propose_template_if_proven(*, script: RemediationScript) -> TemplateProposal | None:
    """After a successful execution: propose a template once the LLM has proven itself N times.

    Returns the new OPEN proposal, or None (not an LLM script, not yet proven, a proposal already
    open, or the script cannot be expressed as a safe template).
    """
    script.refresh_from_db()
    if script.generator != Generator.LLM or script.execution_status != ExecutionStatus.SUCCESS:
        return None
    needed = settings.TEMPLATE_PROMOTION_SUCCESSES
    with transaction.atomic():
        _kind_lock(script)
        same_kind = TemplateProposal.objects.filter(
            root_cause_category=script.root_cause_category,
            script_language=script.script_language,
            target_system=script.target_system,
        )
        if same_kind.filter(status=TemplateProposal.Status.OPEN).exists():
            return None
        proven = _proven_scripts(script)
        latest = same_kind.order_by("-created_at").first()
        if latest is not None:
            # Only successes after the last proposal count towards the next one.
            since = latest.created_at
            proven = proven.filter(Q(executed_at__gt=since) | Q(executed_at__isnull=True, created_at__gt=since))
        successes = proven.count()
        if successes < needed:
            return None
        variables, skipped = liftable_parameters(
            script.root_cause_analysis.get("parameters") or {}, source_script_id=script.pk
        )
        try:
            lifted = lift_values(script.generated_script, language=script.script_language, variables=variables)
        except TemplateDefinitionError as exc:
            logger.warning("script %s succeeded %s times but cannot become a template: %s", script.pk, successes, exc)
            return None
        proposal = TemplateProposal.objects.create(
            root_cause_category=script.root_cause_category,
            script_language=script.script_language,
            target_system=script.target_system,
            proposed_content=lifted.content,
            proposed_variables=[spec.to_dict() for spec in lifted.variables],
            source_script=script,
            success_count=successes,
        )
        notes = skipped + lifted.notes
        record_event(
            actor=SYSTEM,
            verb="template.proposed",
            object_type="template_proposal",
            object_id=proposal.pk,
            after={
                "status": proposal.status,
                "root_cause_category": proposal.root_cause_category,
                "script_language": proposal.script_language,
                "target_system": proposal.target_system,
                "variables": [spec.name for spec in lifted.variables],
            },
            details={"source_script": str(script.pk), "successes": successes, "notes": notes},
        )
        _notify_proposed(proposal, notes)
    return proposal


def _notify_proposed(proposal: TemplateProposal, notes: Sequence[str]) -> None:
    from remediation.notifications.events import NotificationEvent
    from remediation.services.notify import notify

    event = NotificationEvent.TEMPLATE_PROPOSED
    variables = ", ".join(str(v["name"]) for v in proposal.proposed_variables) or "none"
    body = (
        f"An LLM-generated {proposal.script_language} remediation for {proposal.root_cause_category} on "
        f"{proposal.target_system} was approved and succeeded {proposal.success_count} times. It is proposed "
        f"as a template with variables: {variables}. A supervisor must accept or dismiss it; nothing changes "
        f"until then.\nSource script: {proposal.source_script_id}"
    )
    if notes:
        body += "\nReview notes:\n" + "\n".join(f"- {note}" for note in notes)
    notify(
        event=event,
        title=f"Template proposed: {proposal.root_cause_category} ({proposal.script_language})",
        body=body,
        severity="info",
        object_id=str(proposal.pk),
    )


def _require_supervisor(user: Any) -> Actor:
    """A person in the supervisor role; an agent's token never decides, whatever its groups."""
    from remediation.access import is_agent

    if is_agent(user) or not has_role(user, Role.SUPERVISOR):
        raise ActionForbidden("Only a supervisor may decide on a template proposal.", code="role_required")
    return Actor.of(user)


def _lock_open(proposal: TemplateProposal) -> TemplateProposal:
    locked = TemplateProposal.objects.select_for_update().get(pk=proposal.pk)
    if locked.status != TemplateProposal.Status.OPEN:
        raise TransitionRefused(f"The proposal is already {locked.status}.", code="illegal_transition")
    return locked


def _capabilities_for(language: str, target_system: str) -> list[str]:
    for seed in load_seed_templates():
        if seed.script_language == language and target_system in seed.target_systems:
            return list(seed.required_capabilities)
    return list(DEFAULT_CAPABILITIES.get(language, []))


def _rollback_for(proposal: TemplateProposal, specs: Sequence[VariableSpec]) -> str | None:
    """The source script's rollback, lifted with the same variables (None when there is none)."""
    source = proposal.source_script
    if source is None or not (source.rollback_script or "").strip():
        return None
    parameters = source.root_cause_analysis.get("parameters") or {}
    pairs = [(spec, parameters[spec.name]) for spec in specs if spec.name in parameters]
    try:
        return lift_values(source.rollback_script or "", language=proposal.script_language, variables=pairs).content
    except TemplateDefinitionError:
        return None


def proposal_accept(*, proposal: TemplateProposal, user: Any, name: str) -> RemediationTemplate:
    """A supervisor turns the proposal into a template (definition safety check included)."""
    actor = _require_supervisor(user)
    name = name.strip()
    if not name:
        raise InvalidInput("A template needs a name.", field="name")
    if RemediationTemplate.objects.filter(name=name).exists():
        raise InvalidInput(f"A template named {name!r} already exists.", field="name")
    from templates_app.services import template_create

    with transaction.atomic():
        locked = _lock_open(proposal)
        try:
            specs = [VariableSpec.from_dict(item) for item in locked.proposed_variables]
        except TemplateDefinitionError as exc:
            raise InvalidInput(f"The proposed variables are invalid: {exc}", field="proposed_variables") from exc
        rollback = _rollback_for(locked, specs)
        source = locked.source_script
        template = template_create(
            data={
                "name": name,
                "description": (
                    f"Promoted from LLM-generated script {locked.source_script_id} after "
                    f"{locked.success_count} successful executions."
                    + (f"\n\n{source.explanation}" if source is not None and source.explanation else "")
                ),
                "root_cause_category": locked.root_cause_category,
                "script_language": locked.script_language,
                "target_systems": [locked.target_system],
                "required_capabilities": _capabilities_for(locked.script_language, locked.target_system),
                "template_content": locked.proposed_content,
                "rollback_content": rollback,
                "rollback_unavailable_reason": "" if rollback else "The promoted script came without a rollback.",
                "template_variables": list(locked.proposed_variables),
                "safety_checks": [f"promoted from script {locked.source_script_id}; reviewed by {actor.label}"],
            },
            actor=actor,
            source=TemplateSource.PROMOTED,
        )
        transition_proposal(
            locked.pk,
            target=TemplateProposal.Status.ACCEPTED,
            actor=actor,
            verb="template.proposal_accepted",
            updates={"decided_by": user, "created_template": template},
            details={"template": template.name, "template_id": str(template.pk)},
        )
    proposal.refresh_from_db()
    return template


def proposal_dismiss(*, proposal: TemplateProposal, user: Any, justification: str) -> TemplateProposal:
    """A supervisor declines the proposal; the reason is kept in the audit trail."""
    actor = _require_supervisor(user)
    if not justification.strip():
        raise InvalidInput("Dismissing a template proposal needs a justification.", field="justification")
    with transaction.atomic():
        transition_proposal(
            proposal.pk,
            target=TemplateProposal.Status.DISMISSED,
            actor=actor,
            verb="template.proposal_dismissed",
            updates={"decided_by": user},
            details={"justification": justification},
        )
    proposal.refresh_from_db()
    return proposal
