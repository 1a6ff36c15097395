"""Notifications to people: Telegram, Slack-compatible webhooks, signed JSON webhooks, email.

Free of Django: the Celery task and the admin notification list call into this package.
Typical use::

    channels = channels_from_env(os.environ)          # at start-up; raises on half-configuration
    for result in deliver(notification, channels):    # never raises
        if not result.ok and result.retryable: ...    # retry that channel later
"""

from remediation.notifications.channels import (
    Channel,
    DeliveryResult,
    EmailChannel,
    SignedWebhookChannel,
    SlackWebhookChannel,
    TelegramChannel,
    deliver,
    render_plain_text,
    sign_payload,
    verify_signature,
)
from remediation.notifications.config import (
    NotificationConfigError,
    channels_from_env,
    events_from_env,
)
from remediation.notifications.events import (
    Notification,
    NotificationEvent,
    NotificationSeverity,
)

__all__ = [
    "Channel",
    "DeliveryResult",
    "EmailChannel",
    "Notification",
    "NotificationConfigError",
    "NotificationEvent",
    "NotificationSeverity",
    "SignedWebhookChannel",
    "SlackWebhookChannel",
    "TelegramChannel",
    "channels_from_env",
    "deliver",
    "events_from_env",
    "render_plain_text",
    "sign_payload",
    "verify_signature",
]
