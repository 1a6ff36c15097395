"""Routing policy: what a confidence level means for approval and execution. Free of Django.

HIGH scripts that passed validation are approved by the policy and executed automatically, and
supervisors are notified, unless a knob keeps a person in the loop (a service that is never
auto-executed, a script language such as SQL, or AUTO_EXECUTE_HIGH off). MEDIUM scripts wait for a
supervisor. LOW scripts wait for a supervisor, are flagged for detailed review and need a written
justification to approve. The LLM and the RCA never choose the route: only the score does.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from remediation.confidence import Level


@dataclass(frozen=True)
class PolicyKnobs:
    auto_execute_high: bool = True
    never_auto_execute_services: Collection[str] = ()
    never_auto_execute_languages: Collection[str] = ("sql",)
    service_allows_auto_execute: bool = True


@dataclass(frozen=True)
class Route:
    auto_approve: bool
    needs_detailed_review: bool
    justification_required: bool
    reason: str


def route(*, level: Level, validation_passed: bool, service: str, language: str, knobs: PolicyKnobs) -> Route:
    if not validation_passed:
        return Route(False, True, True, "validation failed: a person must review and revise")
    if level is Level.LOW:
        return Route(False, True, True, "LOW confidence: detailed review and a written justification required")
    if level is Level.MEDIUM:
        return Route(False, False, False, "MEDIUM confidence: a supervisor must approve")
    held_by = _held_by_knob(service=service, language=language, knobs=knobs)
    if held_by:
        return Route(False, False, False, f"HIGH confidence, but {held_by}: a supervisor must approve")
    return Route(True, False, False, "HIGH confidence and validation passed: approved by policy")


def _held_by_knob(*, service: str, language: str, knobs: PolicyKnobs) -> str:
    if not knobs.auto_execute_high:
        return "automatic execution is switched off (AUTO_EXECUTE_HIGH)"
    if service and service in knobs.never_auto_execute_services:
        return f"service {service} is never executed automatically"
    if not knobs.service_allows_auto_execute:
        return f"the budget of service {service} forbids automatic execution"
    if language in knobs.never_auto_execute_languages:
        return f"{language} scripts are never executed automatically"
    return ""
