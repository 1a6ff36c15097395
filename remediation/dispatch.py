"""Enqueue Celery tasks by name once the current transaction commits.

Services sit below the task modules (tasks call services), so they name tasks instead of importing
them; a task is never sent for data that was rolled back. Eager mode (tests) is honoured because
the task object is looked up in the app's registry and sent with ``delay``.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.db import transaction


def enqueue_on_commit(task_name: str, *args: Any) -> None:
    def send() -> None:
        current_app.tasks[task_name].delay(*args)

    transaction.on_commit(send)
