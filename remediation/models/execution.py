"""Execution runs: a rehearsal in the sandbox, then the run against the target.

A run is claimed as a lease (``claimed_by`` + ``lease_expires_at``, renewed by heartbeats), so a
redelivered Celery task or a second agent never runs the same script twice.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class ExecutionEnvironment(models.TextChoices):
    SANDBOX = "sandbox", "Sandbox rehearsal"
    TARGET = "target", "Target system"


class RunStatus(models.TextChoices):
    """PENDING -> CLAIMED -> RUNNING -> SUCCESS | FAILED | ERRORED | TIMED_OUT; PENDING/CLAIMED -> CANCELLED.

    FAILED is an expected failure (non-zero exit); ERRORED an unexpected exception, traceback kept.
    """

    PENDING = "PENDING", "Pending"
    CLAIMED = "CLAIMED", "Claimed"
    RUNNING = "RUNNING", "Running"
    SUCCESS = "SUCCESS", "Succeeded"
    FAILED = "FAILED", "Failed"
    ERRORED = "ERRORED", "Errored"
    TIMED_OUT = "TIMED_OUT", "Timed out"
    CANCELLED = "CANCELLED", "Cancelled"


class RollbackStatus(models.TextChoices):
    NONE = "NONE", "No rollback available"
    AVAILABLE = "AVAILABLE", "Available"
    RUNNING = "RUNNING", "Running"
    DONE = "DONE", "Rolled back"
    FAILED = "FAILED", "Rollback failed"


class ExecutionRun(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    script = models.ForeignKey("remediation.RemediationScript", on_delete=models.PROTECT, related_name="runs")
    environment = models.CharField(max_length=8, choices=ExecutionEnvironment.choices)
    backend = models.CharField(max_length=16, default="local")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING, db_index=True)
    attempt = models.PositiveIntegerField(default=1)
    idempotency_key = models.CharField(max_length=128, unique=True)
    claimed_by = models.ForeignKey(
        "remediation.Agent", on_delete=models.SET_NULL, null=True, blank=True, related_name="claimed_runs"
    )
    worker = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    script_sha256 = models.CharField(max_length=64)
    exit_code = models.IntegerField(null=True, blank=True)
    killed_reason = models.CharField(max_length=32, blank=True)
    log = models.TextField(blank=True)
    log_truncated = models.BooleanField(default=False)
    resource_usage = models.JSONField(default=dict, blank=True)
    snapshot = models.JSONField(default=dict, blank=True)
    rollback_status = models.CharField(max_length=10, choices=RollbackStatus.choices, default=RollbackStatus.NONE)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.environment} run {self.id} ({self.status})"


class ExecutionLogLine(models.Model):
    """One output line, stored as it arrives; ``seq`` orders lines for the live page."""

    run = models.ForeignKey(ExecutionRun, on_delete=models.CASCADE, related_name="log_lines")
    seq = models.PositiveIntegerField()
    stream = models.CharField(max_length=6)
    text = models.TextField()
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="log_line_seq_unique")]

    def __str__(self) -> str:
        return f"{self.seq} {self.stream}: {self.text[:80]}"
