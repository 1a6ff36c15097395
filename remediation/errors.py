"""The domain's exceptions. Services raise them; the API maps each to one HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a request the domain refuses, with a message fit for the caller."""

    http_status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code or type(self).__name__


class InvalidInput(DomainError):
    """The body or arguments are malformed; ``field`` names the culprit."""

    http_status = 400


class TransitionRefused(DomainError):
    """An illegal status change, a failed guard, or a lost race for the row."""

    http_status = 409


class ActionForbidden(DomainError):
    """The actor may not do this (role, four-eyes, service scope)."""

    http_status = 403
