from __future__ import annotations

from django.db import models


class NotificationRecord(models.Model):
    """Every notification the product sent or tried to send; the admin's notification list."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        LOGGED = "logged", "Logged only (no channel configured)"

    event = models.CharField(max_length=64, db_index=True)
    title = models.CharField(max_length=300)
    body = models.TextField()
    object_id = models.CharField(max_length=64, blank=True)
    severity = models.CharField(max_length=16, default="info")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    channel_results = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title
