"""Composable role permissions; object scope is applied by the querysets in remediation.access."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from remediation.access import Role, has_role, is_agent


class _RolePermission(BasePermission):
    roles: tuple[Role, ...] = ()
    message = "Your role does not allow this action."

    def has_permission(self, request: Request, view: Any) -> bool:
        return has_role(request.user, *self.roles)


class AnyRole(_RolePermission):
    roles = tuple(Role)


class IsSupervisor(_RolePermission):
    """Supervisors only; an agent's token never passes, whatever groups its user has."""

    roles = (Role.SUPERVISOR,)
    message = "Only supervisors may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return super().has_permission(request, view) and not is_agent(request.user)


class CanRequest(_RolePermission):
    roles = (Role.SUPERVISOR, Role.OPERATOR, Role.AGENT)
    message = "Viewers cannot request or validate remediations."


class CanExecute(_RolePermission):
    roles = (Role.SUPERVISOR, Role.OPERATOR)
    message = "Only supervisors and operators may execute scripts."


class ReadAnyRoleWriteSupervisor(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return AnyRole().has_permission(request, view)
        return IsSupervisor().has_permission(request, view)
