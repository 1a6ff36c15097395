"""Celery: RabbitMQ in production (CELERY_BROKER_URL), a file broker that needs no server otherwise."""

from config.env import env_bool, env_int, env_str
from config.settings.base import DATA_DIR

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://localhost//")
_BROKER_DIR = DATA_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Producer and worker share one folder; kombu's filesystem transport moves messages through it.
    for _sub in ("queue", "processed", "control"):
        (_BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(_BROKER_DIR / "control"),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {}

# Task state lives in our own tables (script and run status); no result backend needed.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# At-least-once delivery: acknowledge after the task ran, requeue when a worker dies mid-task.
# Tasks are idempotent through the database state they check first.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 900, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 960, minimum=1)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "remediation.tasks.generate_script_task": {"queue": "generation"},
    "remediation.tasks.validate_script_task": {"queue": "validation"},
    "remediation.tasks.execute_script_task": {"queue": "execution"},
    "remediation.tasks.rollback_run_task": {"queue": "execution"},
    "remediation.tasks.send_notification_task": {"queue": "notifications"},
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_WORKER_QUEUES = ("default", "generation", "validation", "execution", "notifications")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "expire-and-escalate-approvals": {"task": "remediation.tasks.approvals_sweep_task", "schedule": 60.0},
    "reap-expired-execution-leases": {"task": "remediation.tasks.leases_sweep_task", "schedule": 30.0},
}
