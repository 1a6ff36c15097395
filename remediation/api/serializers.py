"""Output shapes shared by the API and the CLI (one shape for a script everywhere)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from remediation.models import AuditEvent, ExecutionRun, RemediationScript, ReviewComment, ValidationReport


class ScriptOutputSerializer(serializers.ModelSerializer[RemediationScript]):
    anomaly_id = serializers.UUIDField(read_only=True)
    template = serializers.SerializerMethodField()
    template_version = serializers.SerializerMethodField()
    confidence_score = serializers.FloatField(read_only=True)
    validation_findings = serializers.SerializerMethodField()
    rollback_findings = serializers.SerializerMethodField()
    side_effects = serializers.SerializerMethodField()
    parent_id = serializers.UUIDField(read_only=True, allow_null=True)
    cost_usd = serializers.FloatField(read_only=True, allow_null=True)
    error = serializers.SerializerMethodField()

    class Meta:
        model = RemediationScript
        fields = [
            "id",
            "anomaly_id",
            "service",
            "root_cause_category",
            "root_cause_analysis",
            "template",
            "template_version",
            "generator",
            "model_name",
            "script_language",
            "target_system",
            "generated_script",
            "rollback_script",
            "explanation",
            "confidence_score",
            "confidence_level",
            "confidence_factors",
            "needs_detailed_review",
            "validation_status",
            "validation_findings",
            "rollback_findings",
            "side_effects",
            "approval_status",
            "approval_expires_at",
            "execution_status",
            "revision",
            "parent_id",
            "is_current_revision",
            "prompt_tokens",
            "completion_tokens",
            "cost_usd",
            "fingerprint",
            "error",
            "created_at",
            "validated_at",
            "approved_at",
            "executed_at",
        ]
        read_only_fields = fields

    def get_template(self, script: RemediationScript) -> str | None:
        return script.template.name if script.template_id else None  # type: ignore[union-attr]

    def get_template_version(self, script: RemediationScript) -> int | None:
        return script.template_version.version if script.template_version_id else None  # type: ignore[union-attr]

    def _report(self, script: RemediationScript) -> ValidationReport | None:
        reports = getattr(script, "_prefetched_objects_cache", {}).get("validation_reports")
        if reports is not None:
            return reports[0] if reports else None
        return script.validation_reports.order_by("-created_at").first()

    def get_validation_findings(self, script: RemediationScript) -> list[dict[str, Any]]:
        report = self._report(script)
        return report.findings if report else []

    def get_rollback_findings(self, script: RemediationScript) -> list[dict[str, Any]]:
        report = self._report(script)
        return report.rollback_findings if report else []

    def get_side_effects(self, script: RemediationScript) -> list[str]:
        report = self._report(script)
        return report.side_effects if report else []

    def get_error(self, script: RemediationScript) -> str | None:
        return script.error or None


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    actor = serializers.CharField(source="actor_label")

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "actor",
            "actor_kind",
            "verb",
            "object_type",
            "object_id",
            "before",
            "after",
            "details",
            "request_id",
        ]


class CommentSerializer(serializers.ModelSerializer[ReviewComment]):
    author = serializers.CharField(source="author.username", read_only=True)

    class Meta:
        model = ReviewComment
        fields = ["id", "script", "line", "author", "body", "created_at"]
        read_only_fields = ["id", "script", "author", "created_at"]


class RunSerializer(serializers.ModelSerializer[ExecutionRun]):
    class Meta:
        model = ExecutionRun
        fields = [
            "id",
            "script",
            "environment",
            "backend",
            "status",
            "attempt",
            "worker",
            "exit_code",
            "killed_reason",
            "log",
            "log_truncated",
            "resource_usage",
            "snapshot",
            "rollback_status",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "lease_expires_at",
        ]
        read_only_fields = fields
