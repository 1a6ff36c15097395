"""Who may do what: agents, API tokens and per-service budgets."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import RegexValidator
from django.db import models

TOKEN_PREFIX_LENGTH = 8
#: Only variables with this prefix may name a target database: any other name could point SQL
#: remediations at the product's own database or expose a secret such as DJANGO_SECRET_KEY.
TARGET_DATABASE_ENV_PATTERN = r"^REMEDIATION_TARGET_DB_[A-Z0-9_]+$"


def hash_token(raw: str) -> str:
    """Tokens are high-entropy random strings, so a plain SHA-256 is the right (and fast) hash."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class Agent(models.Model):
    """A program on a host or cluster that claims and runs approved scripts through the API."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent")
    capabilities = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    is_active = models.BooleanField(default=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A bearer token for an agent or a person; only its SHA-256 is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    #: The first characters of the token, to recognise it in lists without revealing it.
    prefix = models.CharField(max_length=TOKEN_PREFIX_LENGTH)
    is_active = models.BooleanField(default=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class ServiceBudgetQuerySet(models.QuerySet["ServiceBudget"]):
    def for_service(self, service: str) -> ServiceBudget | None:
        """The budget of ``service``; None for a script that names no service or an unknown one."""
        return self.filter(service=service).first() if service else None


class ServiceBudget(models.Model):
    """Limits and scope for one service's remediations; the validator and executor enforce them."""

    service = models.CharField(max_length=200, unique=True)
    cpu_millicores = models.PositiveIntegerField(default=500)
    memory_limit_mb = models.PositiveIntegerField(default=512)
    time_limit_seconds = models.PositiveIntegerField(default=300)
    #: Ceiling for container memory limits in the service's manifests; empty means no ceiling.
    max_container_memory_mb = models.PositiveIntegerField(null=True, blank=True)
    allowed_target_systems = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    allowed_namespaces = ArrayField(models.CharField(max_length=253), default=list, blank=True)
    allowed_databases = ArrayField(models.CharField(max_length=63), default=list, blank=True)
    allowed_paths = ArrayField(models.CharField(max_length=1024), default=list, blank=True)
    allowed_hosts = ArrayField(models.CharField(max_length=253), default=list, blank=True)
    #: Even HIGH-confidence scripts of this service wait for a person when False.
    auto_execute = models.BooleanField(default=True)
    #: Connection string of the service's target database for SQL remediations (secret; from env ideally).
    target_database_url_env = models.CharField(
        max_length=100,
        blank=True,
        validators=[RegexValidator(TARGET_DATABASE_ENV_PATTERN, "Use a name starting with REMEDIATION_TARGET_DB_.")],
        help_text="Name of the environment variable holding the target DB URL (REMEDIATION_TARGET_DB_...).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ServiceBudgetQuerySet.as_manager()

    class Meta:
        ordering = ["service"]
        #: Granted per object with django-guardian: a person or agent holding it on some services is
        #: scoped to exactly those; one holding it on none acts on every service.
        permissions = [("act_for_service", "Can see and act on this service's remediations")]

    def __str__(self) -> str:
        return self.service
