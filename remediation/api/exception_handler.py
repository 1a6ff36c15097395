"""One error shape for the whole API: ``{"detail": ..., "code": ..., "field": ...}``."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from remediation.errors import DomainError


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"detail": exc.message, "code": exc.code}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=exc.http_status)
    response = exception_handler(exc, context)
    if response is not None and response.status_code == status.HTTP_400_BAD_REQUEST and isinstance(response.data, dict):
        fields = [key for key in response.data if key not in {"detail", "non_field_errors"}]
        if fields:
            response.data = {
                "detail": f"Invalid value for field '{fields[0]}'.",
                "field": fields[0],
                "errors": response.data,
            }
    return response
