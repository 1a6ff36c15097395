"""Token authentication for agents and automation: ``Authorization: Token <key>`` or ``Bearer <key>``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from remediation.models import ApiToken
from remediation.models.access import hash_token

_SCHEMES = {b"token", b"bearer"}


class ApiTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() not in _SCHEMES:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid Authorization header: expected '<scheme> <token>'.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(raw), is_active=True).first()
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        now = timezone.now()
        # Bookkeeping, not security: write at most once a minute per token, not on every request
        # (an agent posts log batches several times a second).
        stale = now - timedelta(seconds=60)
        if token.last_used_at is None or token.last_used_at < stale:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            agent = getattr(token.user, "agent", None)
            if agent is not None:
                type(agent).objects.filter(pk=agent.pk).update(last_seen=now)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return "Token"
