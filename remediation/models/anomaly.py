from __future__ import annotations

import uuid

from django.db import models


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class Anomaly(models.Model):
    """An incident signal that an RCA explains; created on intake when the finding names none."""

    class Source(models.TextChoices):
        API = "api", "REST API"
        ALERTMANAGER = "alertmanager", "Alertmanager webhook"
        CLI = "cli", "Command line"
        AGENT = "agent", "Agent"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.CharField(max_length=200, blank=True, db_index=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, blank=True)
    title = models.CharField(max_length=500)
    detected_at = models.DateTimeField()
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.API)
    raw_payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "remediation_anomalies"
        ordering = ["-detected_at"]
        verbose_name_plural = "anomalies"

    def __str__(self) -> str:
        return self.title
