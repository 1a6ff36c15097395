"""The schema on the real PostgreSQL: migrations, pgvector nearest neighbours, the audit trigger."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from remediation.lifecycle import SYSTEM, record_event
from remediation.models import AuditEvent, RemediationScript
from tests.factories import ScriptFactory

pytestmark = pytest.mark.django_db


def test_models_and_migrations_agree() -> None:
    out = io.StringIO()
    # Exits non-zero (SystemExit) when a model change has no migration.
    call_command("makemigrations", "--check", "--dry-run", stdout=out)


def test_database_is_postgresql_with_pgvector() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    assert connection.vendor == "postgresql"
    assert row is not None, "pgvector extension missing"


def test_nearest_neighbour_by_cosine_uses_pgvector() -> None:
    from pgvector.django import CosineDistance

    def unit(index: int) -> list[float]:
        vector = [0.0] * 384
        vector[index] = 1.0
        return vector

    near = ScriptFactory(embedding=[0.9 if i == 0 else (0.1 if i == 1 else 0.0) for i in range(384)])
    far = ScriptFactory(embedding=unit(5))
    ScriptFactory(embedding=None)
    ranked = list(
        RemediationScript.objects.filter(embedding__isnull=False)
        .annotate(distance=CosineDistance("embedding", unit(0)))
        .order_by("distance")
    )
    assert [s.pk for s in ranked] == [near.pk, far.pk]
    assert ranked[0].distance < 0.01 < ranked[1].distance


def test_hnsw_index_exists_on_embeddings() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'script_embedding_hnsw'")
        (definition,) = cursor.fetchone()
    assert "hnsw" in definition and "vector_cosine_ops" in definition


def test_audit_rows_cannot_be_updated_or_deleted_even_with_raw_sql() -> None:
    event = record_event(actor=SYSTEM, verb="test.event", object_type="script", object_id="x")
    for statement in (
        f"UPDATE remediation_auditevent SET verb = 'forged' WHERE id = {event.pk}",
        f"DELETE FROM remediation_auditevent WHERE id = {event.pk}",
    ):
        with pytest.raises(DatabaseError, match="Cannot update or delete"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement)
    assert AuditEvent.objects.get(pk=event.pk).verb == "test.event"


def test_confidence_score_outside_unit_range_is_refused_by_the_database() -> None:
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        ScriptFactory(confidence_score=1.5)
