"""Generated scripts, their revisions, validation reports, approvals and review comments.

Status fields change only through :mod:`remediation.lifecycle`; nothing else assigns them.
"""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from pgvector.django import HnswIndex, VectorField

from remediation.llm.embeddings import EMBEDDING_DIMENSIONS
from templates_app.models import ScriptLanguage, TargetSystem


class ValidationStatus(models.TextChoices):
    """PENDING -> PASSED | FAILED; a new revision starts again at PENDING."""

    PENDING = "PENDING", "Pending"
    PASSED = "PASSED", "Passed"
    FAILED = "FAILED", "Failed"


class ApprovalStatus(models.TextChoices):
    """REQUIRED -> APPROVED | REJECTED | EXPIRED. Only a PASSED script can be approved."""

    REQUIRED = "REQUIRED", "Approval required"
    APPROVED = "APPROVED", "Approved"
    REJECTED = "REJECTED", "Rejected"
    EXPIRED = "EXPIRED", "Expired"


class ExecutionStatus(models.TextChoices):
    """PENDING -> QUEUED -> RUNNING -> SUCCESS | FAILED; SUCCESS/FAILED -> ROLLED_BACK.

    TERMINAL statuses never move again except to ROLLED_BACK.
    """

    PENDING = "PENDING", "Pending"
    QUEUED = "QUEUED", "Queued"
    RUNNING = "RUNNING", "Running"
    SUCCESS = "SUCCESS", "Succeeded"
    FAILED = "FAILED", "Failed"
    ROLLED_BACK = "ROLLED_BACK", "Rolled back"
    CANCELLED = "CANCELLED", "Cancelled"


class ConfidenceLevel(models.TextChoices):
    HIGH = "HIGH", "High (0.80-1.00)"
    MEDIUM = "MEDIUM", "Medium (0.50-0.79)"
    LOW = "LOW", "Low (below 0.50)"


class Generator(models.TextChoices):
    TEMPLATE = "template", "Template"
    LLM = "llm", "LLM"
    REVISION = "revision", "Supervisor's revision"
    REUSE = "reuse", "Reuse of a script that already succeeded"
    FALLBACK = "fallback", "Configured fallback action"
    NONE = "none", "None (manual review)"


def sha256_text(text: str | None) -> str:
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()


class RemediationScript(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    anomaly = models.ForeignKey("remediation.Anomaly", on_delete=models.PROTECT, related_name="scripts")
    root_cause_analysis = models.JSONField()
    service = models.CharField(max_length=200, blank=True, db_index=True)
    root_cause_category = models.CharField(max_length=64, db_index=True)
    fingerprint = models.CharField(max_length=64, db_index=True)

    generated_script = models.TextField(blank=True)
    rollback_script = models.TextField(blank=True, null=True)
    script_language = models.CharField(max_length=16, choices=ScriptLanguage.choices)
    target_system = models.CharField(max_length=16, choices=TargetSystem.choices)
    explanation = models.TextField(blank=True)

    generator = models.CharField(max_length=16, choices=Generator.choices, default=Generator.TEMPLATE)
    template = models.ForeignKey(
        "templates_app.RemediationTemplate", on_delete=models.SET_NULL, null=True, blank=True, related_name="scripts"
    )
    template_version = models.ForeignKey(
        "templates_app.TemplateVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="scripts"
    )
    model_name = models.CharField(max_length=100, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=10, decimal_places=6, null=True, blank=True)

    confidence_score = models.DecimalField(max_digits=3, decimal_places=2, default=0)
    confidence_level = models.CharField(max_length=8, choices=ConfidenceLevel.choices, default=ConfidenceLevel.LOW)
    confidence_factors = models.JSONField(default=dict, blank=True)
    needs_detailed_review = models.BooleanField(default=False)
    #: Why no script could be produced, or why it went to the manual review queue.
    error = models.TextField(blank=True)

    validation_status = models.CharField(
        max_length=8, choices=ValidationStatus.choices, default=ValidationStatus.PENDING, db_index=True
    )
    approval_status = models.CharField(
        max_length=8, choices=ApprovalStatus.choices, default=ApprovalStatus.REQUIRED, db_index=True
    )
    execution_status = models.CharField(
        max_length=12, choices=ExecutionStatus.choices, default=ExecutionStatus.PENDING, db_index=True
    )
    approval_expires_at = models.DateTimeField(null=True, blank=True)
    approval_escalated_at = models.DateTimeField(null=True, blank=True)
    approval_expiry_warned_at = models.DateTimeField(null=True, blank=True)

    revision = models.PositiveIntegerField(default=1)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="revisions")
    #: The newest revision is the one that can move on; older ones are superseded.
    is_current_revision = models.BooleanField(default=True)
    revised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    embedding_model = models.CharField(max_length=100, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "generative_remediation_scripts"
        ordering = ["-created_at"]
        indexes = [
            HnswIndex(
                name="script_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            GinIndex(fields=["root_cause_analysis"], name="script_rca_gin"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(confidence_score__gte=0) & models.Q(confidence_score__lte=1),
                name="script_confidence_in_unit_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.root_cause_category} r{self.revision} ({self.id})"

    @property
    def script_sha256(self) -> str:
        return sha256_text(self.generated_script)

    @property
    def rollback_sha256(self) -> str:
        return sha256_text(self.rollback_script)


class ValidationReport(models.Model):
    script = models.ForeignKey(RemediationScript, on_delete=models.CASCADE, related_name="validation_reports")
    status = models.CharField(max_length=8, choices=ValidationStatus.choices)
    strictness = models.CharField(max_length=8)
    findings = models.JSONField(default=list)
    rollback_findings = models.JSONField(default=list)
    side_effects = models.JSONField(default=list)
    duration_ms = models.FloatField(default=0)
    validator_versions = models.JSONField(default=dict)
    script_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.status} ({self.strictness}) for {self.script_id}"


class ApprovalDecision(models.Model):
    """One person's (or the policy's) decision on one revision, bound to the exact text approved."""

    class Decision(models.TextChoices):
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    script = models.ForeignKey(RemediationScript, on_delete=models.CASCADE, related_name="approval_decisions")
    decision = models.CharField(max_length=8, choices=Decision.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    #: "user" for a person, "policy" for HIGH-confidence auto-approval.
    actor_kind = models.CharField(max_length=8, default="user")
    justification = models.TextField(blank=True)
    script_sha256 = models.CharField(max_length=64)
    rollback_sha256 = models.CharField(max_length=64)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.decision} by {self.actor or self.actor_kind}"


class ReviewComment(models.Model):
    script = models.ForeignKey(RemediationScript, on_delete=models.CASCADE, related_name="comments")
    line = models.PositiveIntegerField(null=True, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"line {self.line or '-'}: {self.body[:60]}"
