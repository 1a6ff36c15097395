from django.apps import AppConfig


class RemediationConfig(AppConfig):
    name = "remediation"
    verbose_name = "Generative remediation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the system checks, and the Celery tasks so that services can enqueue them by name.
        from remediation import checks, tasks  # noqa: F401
