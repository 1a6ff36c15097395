"""System checks run by manage.py (and so at `make run`): configuration that would fail later fails now."""

from __future__ import annotations

import os
from typing import Any

from django.core import checks


@checks.register(checks.Tags.compatibility)
def notification_channels_configured(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A half-configured notification channel (a webhook URL without its secret) is an error at start-up,
    not a notification that silently stays pending."""
    from remediation.notifications.config import NotificationConfigError, channels_from_env

    try:
        channels_from_env(os.environ)
    except NotificationConfigError as exc:
        return [
            checks.Error(
                f"Notification settings: {exc}",
                id="remediation.E001",
                hint="See docs/notifications.md for the variables each channel needs.",
            )
        ]
    return []
