"""Reads: which templates fit an RCA finding, best first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from templates_app.models import RemediationTemplate, TemplateVersion
from templates_app.variables import ResolvedVariables, TemplateDefinitionError, VariableSpec, resolve_variables

#: Ranking weights: historical success (smoothed) and how completely the RCA fills the variables.
RANK_WEIGHT_SUCCESS = 0.6
RANK_WEIGHT_COMPLETENESS = 0.4


@dataclass(frozen=True)
class TemplateCandidate:
    template: RemediationTemplate
    specs: tuple[VariableSpec, ...]
    resolved: ResolvedVariables
    rank: float


def templates_matching(
    *, category: str, target_system: str, capabilities: Sequence[str] | None
) -> QuerySet[RemediationTemplate]:
    """Active, non-quarantined templates for the category and target whose needs the agent covers.

    ``capabilities`` None means the caller did not say; then capability needs are not filtered.
    The containment test (``required_capabilities <@ capabilities``) uses the GIN index.
    """
    queryset = RemediationTemplate.objects.filter(
        root_cause_category=category,
        target_systems__contains=[target_system],
        is_active=True,
        is_quarantined=False,
    )
    if capabilities is not None:
        queryset = queryset.filter(required_capabilities__contained_by=list(capabilities))
    return queryset


def template_specs(template: RemediationTemplate | TemplateVersion) -> tuple[VariableSpec, ...]:
    return tuple(VariableSpec.from_dict(item) for item in template.template_variables)


def rank_templates(rca: Mapping[str, Any]) -> list[TemplateCandidate]:
    """Every matching template with its resolved variables, best first."""
    candidates = []
    for template in templates_matching(
        category=rca["root_cause_category"],
        target_system=rca["target_system"],
        capabilities=rca.get("agent_capabilities"),
    ):
        try:
            specs = template_specs(template)
        except TemplateDefinitionError:
            continue
        resolved = resolve_variables(specs, rca)
        rank = RANK_WEIGHT_SUCCESS * template.smoothed_success_rate + RANK_WEIGHT_COMPLETENESS * resolved.completeness
        candidates.append(TemplateCandidate(template, specs, resolved, rank))
    # Templates that can render (no missing or refused values) always come before those that cannot.
    candidates.sort(key=lambda c: (not c.resolved.ok, -c.rank, c.template.name))
    return candidates


def current_version(template: RemediationTemplate) -> TemplateVersion:
    return template.versions.get(version=template.version)
