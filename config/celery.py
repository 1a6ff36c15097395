"""The Celery application; tasks live in remediation.tasks."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("remediation")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _start_embedded_database(**_: object) -> None:
    """A worker started on its own still finds the embedded database running."""
    from config.bootstrap import ensure_embedded_database

    ensure_embedded_database()
