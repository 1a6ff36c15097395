"""Settings, one module per concern; everything comes from the environment (see README)."""

from config.settings.api import *  # noqa: F403
from config.settings.base import *  # noqa: F403
from config.settings.celery import *  # noqa: F403
from config.settings.channels import *  # noqa: F403
from config.settings.database import *  # noqa: F403
from config.settings.remediation import *  # noqa: F403
