"""Who may see and do what: roles (groups) and service scope (django-guardian object permissions).

Roles are Django groups: supervisor (approves, rejects, revises, edits templates), operator (requests
and executes remediations), agent (a program: requests, validates, claims runs; never approves) and
viewer (reads). A person or agent holding ``act_for_service`` on some ServiceBudget rows is scoped
to those services; one holding it on none acts on every service.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, Group
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from guardian.shortcuts import assign_perm, get_objects_for_user

from remediation.models import (
    Agent,
    AuditEvent,
    ExecutionRun,
    NotificationRecord,
    RemediationScript,
    ServiceBudget,
)

SERVICE_PERMISSION = "remediation.act_for_service"

#: A request user: a person or an agent account, or AnonymousUser.
UserLike = Any


class Role(StrEnum):
    SUPERVISOR = "supervisor"
    OPERATOR = "operator"
    AGENT = "agent"
    VIEWER = "viewer"


def ensure_role_groups() -> None:
    for role in Role:
        Group.objects.get_or_create(name=role.value)


def roles_of(user: UserLike) -> set[Role]:
    if not getattr(user, "is_authenticated", False):
        return set()
    cached: set[Role] | None = getattr(user, "_remediation_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = {role for role in Role if role.value in names}
        if user.is_superuser and not is_agent(user):
            cached.add(Role.SUPERVISOR)
        user._remediation_roles = cached
    return cached


def has_role(user: UserLike, *roles: Role) -> bool:
    return bool(roles_of(user) & set(roles))


def is_agent(user: UserLike) -> bool:
    return getattr(user, "is_authenticated", False) and Agent.objects.filter(user_id=user.pk).exists()


def grant_services(user: AbstractBaseUser, services: list[str]) -> None:
    user.__dict__.pop("_remediation_scope", None)
    for name in services:
        budget, _ = ServiceBudget.objects.get_or_create(service=name)
        assign_perm(SERVICE_PERMISSION, user, budget)


def service_scope(user: UserLike) -> set[str] | None:
    """The services ``user`` is limited to, or None for all services (cached on the user object for the
    request, as roles are: one request asks several times)."""
    if hasattr(user, "_remediation_scope"):
        cached: set[str] | None = user._remediation_scope
        return cached
    budgets = get_objects_for_user(user, SERVICE_PERMISSION, klass=ServiceBudget, accept_global_perms=False)
    names = set(budgets.values_list("service", flat=True)) or None
    if getattr(user, "is_authenticated", False):
        user._remediation_scope = names
    return names


def may_act_on_service(user: UserLike, service: str) -> bool:
    scope = service_scope(user)
    return scope is None or service in scope


def scripts_visible_to(user: UserLike) -> QuerySet[RemediationScript]:
    if not roles_of(user):
        return RemediationScript.objects.none()
    scope = service_scope(user)
    queryset = RemediationScript.objects.all()
    return queryset if scope is None else queryset.filter(service__in=scope)


def runs_visible_to(user: UserLike) -> QuerySet[ExecutionRun]:
    return ExecutionRun.objects.filter(script__in=scripts_visible_to(user))


def _ids_as_text(queryset: QuerySet[Any]) -> QuerySet[Any]:
    """Primary keys as text, to match AuditEvent/NotificationRecord.object_id in a subquery."""
    return queryset.annotate(id_text=Cast("pk", output_field=CharField())).values("id_text")


def audit_events_visible_to(user: UserLike) -> QuerySet[AuditEvent]:
    """Everything for people who act on every service; for scoped people, the events of their
    services' scripts and runs only (audit details carry script diffs and output tails)."""
    if not roles_of(user):
        return AuditEvent.objects.none()
    if service_scope(user) is None:
        return AuditEvent.objects.all()
    scripts = scripts_visible_to(user)
    return AuditEvent.objects.filter(
        Q(object_type="script", object_id__in=_ids_as_text(scripts))
        | Q(object_type="execution_run", object_id__in=_ids_as_text(ExecutionRun.objects.filter(script__in=scripts)))
    )


def notifications_visible_to(user: UserLike) -> QuerySet[NotificationRecord]:
    if not roles_of(user):
        return NotificationRecord.objects.none()
    if service_scope(user) is None:
        return NotificationRecord.objects.all()
    return NotificationRecord.objects.filter(object_id__in=_ids_as_text(scripts_visible_to(user)))


def proposals_visible_to(user: UserLike) -> QuerySet[Any]:
    """Template proposals whose source script the user may see (a proposal carries that script's text)."""
    from templates_app.models import TemplateProposal

    if not roles_of(user):
        return TemplateProposal.objects.none()
    if service_scope(user) is None:
        return TemplateProposal.objects.all()
    return TemplateProposal.objects.filter(source_script__in=scripts_visible_to(user))
