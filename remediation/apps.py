from django.apps import AppConfig


class RemediationConfig(AppConfig):
    name = "remediation"
    verbose_name = "Generative remediation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from remediation import checks  # noqa: F401 - registers the system checks
