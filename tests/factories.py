"""Typed factory-boy factories for the domain."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone

from remediation.access import grant_services
from remediation.models import Anomaly, RemediationScript
from templates_app.models import RemediationTemplate


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"person-{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    is_staff = True


def PersonFactory(*, role: str = "supervisor", services: tuple[str, ...] = (), **fields: Any) -> User:
    """A person with one role (a group) and, optionally, a service scope."""
    user: User = UserFactory(**fields)
    user.groups.add(Group.objects.get(name=role))
    grant_services(user, list(services))
    return user


class AnomalyFactory(factory.django.DjangoModelFactory[Anomaly]):
    class Meta:
        model = Anomaly

    service = "checkout-api"
    severity = "high"
    title = factory.Sequence(lambda n: f"Disk full on app-{n}")
    detected_at = factory.LazyFunction(timezone.now)


def rca_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "service": "checkout-api",
        "severity": "high",
        "root_cause_category": "disk_full",
        "summary": "Root volume on app-7 at 97% from stale render cache.",
        "confidence": 0.91,
        "target_system": "linux",
        "affected_components": [{"kind": "host", "name": "app-7"}],
        "evidence": [{"kind": "metric", "text": "node_filesystem_avail_bytes ratio 0.03"}],
        "parameters": {"mount_point": "/", "path": "/var/cache/checkout", "max_age_days": 3, "min_free_percent": 20},
        "agent_capabilities": ["bash"],
    }
    payload.update(overrides)
    return payload


class ScriptFactory(factory.django.DjangoModelFactory[RemediationScript]):
    """A generated bash script for disk_full, PASSED and awaiting approval unless told otherwise."""

    class Meta:
        model = RemediationScript

    anomaly = factory.SubFactory(AnomalyFactory)
    root_cause_analysis = factory.LazyFunction(rca_payload)
    service = "checkout-api"
    root_cause_category = "disk_full"
    fingerprint = factory.Sequence(lambda n: f"{n:064x}")
    generated_script = "#!/usr/bin/env bash\nset -euo pipefail\ndf -h /\n"
    rollback_script = None
    script_language = "bash"
    target_system = "linux"
    generator = "template"
    confidence_score = 0.65
    confidence_level = "MEDIUM"
    validation_status = "PASSED"
    approval_status = "REQUIRED"
    execution_status = "PENDING"


class TemplateFactory(factory.django.DjangoModelFactory[RemediationTemplate]):
    class Meta:
        model = RemediationTemplate

    name = factory.Sequence(lambda n: f"template-{n}")
    root_cause_category = "disk_full"
    script_language = "bash"
    target_systems = factory.LazyFunction(lambda: ["linux"])
    required_capabilities = factory.LazyFunction(lambda: ["bash"])
    template_content = "#!/usr/bin/env bash\nset -euo pipefail\ndf -h /\n"
    template_variables = factory.LazyFunction(list)


def record_policy_approval(script: RemediationScript) -> RemediationScript:
    """The ApprovalDecision the routing policy writes for a HIGH script, bound to the script's text."""
    from remediation.models import ApprovalDecision

    ApprovalDecision.objects.create(
        script=script,
        decision="approved",
        actor_kind="policy",
        script_sha256=script.script_sha256,
        rollback_sha256=script.rollback_sha256,
    )
    return script

