"""Remediation templates and their immutable versions.

A template row is the current, editable head; every edit writes a new :class:`TemplateVersion`.
Scripts point at the version they were rendered from and keep their own rendered text, so a later
edit never changes what was approved or run.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models


class ScriptLanguage(models.TextChoices):
    BASH = "bash", "Bash"
    PYTHON = "python", "Python"
    SQL = "sql", "SQL (PostgreSQL)"
    KUBERNETES = "kubernetes", "Kubernetes manifest"
    CONFIG_PATCH = "config_patch", "Configuration patch"


class TargetSystem(models.TextChoices):
    LINUX = "linux", "Linux host"
    KUBERNETES = "kubernetes", "Kubernetes"
    POSTGRESQL = "postgresql", "PostgreSQL"
    NGINX = "nginx", "nginx"
    APPLICATION = "application", "Application"


class TemplateSource(models.TextChoices):
    SEED = "seed", "Seed library"
    USER = "user", "Written by a supervisor"
    PROMOTED = "promoted", "Promoted from a generated script"


class RemediationTemplate(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    root_cause_category = models.CharField(max_length=64, db_index=True)
    script_language = models.CharField(max_length=16, choices=ScriptLanguage.choices)
    target_systems = ArrayField(models.CharField(max_length=16, choices=TargetSystem.choices))
    required_capabilities = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    template_content = models.TextField()
    rollback_content = models.TextField(blank=True, null=True)
    rollback_unavailable_reason = models.TextField(blank=True)
    template_variables = models.JSONField(default=list, blank=True)
    safety_checks = models.JSONField(default=list, blank=True)
    version = models.PositiveIntegerField(default=1)
    source = models.CharField(max_length=16, choices=TemplateSource.choices, default=TemplateSource.USER)
    #: sha256 of the seed file's canonical content, so re-seeding knows what changed.
    seed_checksum = models.CharField(max_length=64, blank=True)
    is_active = models.BooleanField(default=True)

    is_quarantined = models.BooleanField(default=False, db_index=True)
    quarantined_at = models.DateTimeField(null=True, blank=True)
    quarantine_reason = models.TextField(blank=True)

    success_count = models.PositiveIntegerField(default=0)
    failure_count = models.PositiveIntegerField(default=0)
    consecutive_failures = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "generative_remediation_templates"
        ordering = ["root_cause_category", "name"]
        indexes = [
            GinIndex(fields=["required_capabilities"], name="template_capabilities_gin"),
            GinIndex(fields=["target_systems"], name="template_targets_gin"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def total_runs(self) -> int:
        return self.success_count + self.failure_count

    @property
    def smoothed_success_rate(self) -> float:
        """Laplace-smoothed success rate: a new template sits at 0.5 rather than at 0 or 1 by luck."""
        return (self.success_count + 1) / (self.total_runs + 2)


class TemplateVersion(models.Model):
    """An immutable snapshot of a template's content at one version."""

    template = models.ForeignKey(RemediationTemplate, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    template_content = models.TextField()
    rollback_content = models.TextField(blank=True, null=True)
    template_variables = models.JSONField(default=list)
    safety_checks = models.JSONField(default=list)
    checksum = models.CharField(max_length=64)
    created_by = models.ForeignKey("auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    change_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["template", "-version"]
        constraints = [models.UniqueConstraint(fields=["template", "version"], name="template_version_unique")]

    def __str__(self) -> str:
        return f"{self.template.name} v{self.version}"


class TemplateProposal(models.Model):
    """A generated script that worked often enough to be proposed as a template; never promoted silently."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        DISMISSED = "dismissed", "Dismissed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    root_cause_category = models.CharField(max_length=64)
    script_language = models.CharField(max_length=16, choices=ScriptLanguage.choices)
    target_system = models.CharField(max_length=16, choices=TargetSystem.choices)
    proposed_content = models.TextField()
    proposed_variables = models.JSONField(default=list)
    source_script = models.ForeignKey(
        "remediation.RemediationScript", on_delete=models.SET_NULL, null=True, related_name="template_proposals"
    )
    success_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey("auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_template = models.ForeignKey(RemediationTemplate, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"proposal for {self.root_cause_category} ({self.status})"
