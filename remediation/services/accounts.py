"""People, agents and their API tokens (manage.py create_user / create_agent, admin)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import Group, User
from django.db import transaction

from remediation.access import Role, ensure_role_groups, grant_services
from remediation.errors import InvalidInput
from remediation.lifecycle import SYSTEM, Actor, record_event
from remediation.models import Agent, ApiToken
from remediation.models.access import TOKEN_PREFIX_LENGTH, hash_token, new_token


@dataclass(frozen=True)
class IssuedToken:
    raw: str
    token: ApiToken


def token_issue(*, user: User, name: str = "", revoke_others: bool = False, actor: Actor = SYSTEM) -> IssuedToken:
    """A new random token; only its hash is stored, the raw value is returned once."""
    raw = new_token()
    with transaction.atomic():
        if revoke_others:
            ApiToken.objects.filter(user=user, is_active=True).update(is_active=False)
        token = ApiToken.objects.create(
            user=user, name=name, key_hash=hash_token(raw), prefix=raw[:TOKEN_PREFIX_LENGTH]
        )
        record_event(
            actor=actor,
            verb="token.issued",
            object_type="user",
            object_id=user.pk,
            details={"prefix": token.prefix, "revoked_others": revoke_others},
        )
    return IssuedToken(raw, token)


def _set_services(user: User, services: Sequence[str]) -> None:
    from guardian.shortcuts import remove_perm

    from remediation.access import SERVICE_PERMISSION
    from remediation.models import ServiceBudget

    for budget in ServiceBudget.objects.all():
        remove_perm(SERVICE_PERMISSION, user, budget)
    grant_services(user, list(services))


def agent_create(
    *, name: str, capabilities: Sequence[str], services: Sequence[str] = (), actor: Actor = SYSTEM
) -> tuple[Agent, IssuedToken, bool]:
    """Create an agent, or rotate the token of the agent with that name; (agent, token, created)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("An agent name is 1-100 characters.", field="name")
    ensure_role_groups()
    with transaction.atomic():
        agent = Agent.objects.select_related("user").filter(name=name).first()
        created = agent is None
        if agent is None:
            user = User.objects.create_user(username=f"agent:{name}"[:150], password=None)
            agent = Agent.objects.create(name=name, user=user, capabilities=list(capabilities))
        else:
            agent.capabilities = list(capabilities)
            agent.is_active = True
            agent.save(update_fields=["capabilities", "is_active"])
        agent.user.groups.set([Group.objects.get(name=Role.AGENT)])
        _set_services(agent.user, services)
        issued = token_issue(user=agent.user, name=f"agent {name}", revoke_others=True, actor=actor)
        record_event(
            actor=actor,
            verb="agent.created" if created else "agent.rotated",
            object_type="agent",
            object_id=agent.pk,
            after={"capabilities": list(capabilities), "services": list(services)},
        )
    return agent, issued, created


def user_create_or_update(
    *, username: str, role: Role, services: Sequence[str] = (), password: str | None = None, actor: Actor = SYSTEM
) -> tuple[User, bool]:
    ensure_role_groups()
    with transaction.atomic():
        user, created = User.objects.get_or_create(username=username)
        user.is_staff = role in (Role.SUPERVISOR, Role.OPERATOR, Role.VIEWER)
        if password:
            user.set_password(password)
        elif created:
            user.set_unusable_password()
        user.save()
        user.groups.set([Group.objects.get(name=role.value)])
        _set_services(user, services)
        record_event(
            actor=actor,
            verb="user.created" if created else "user.updated",
            object_type="user",
            object_id=user.pk,
            after={"username": username, "role": role.value, "services": list(services)},
        )
    return user, created
