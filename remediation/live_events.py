"""Typed live events for the execution page, published on the channel layer after commit."""

from __future__ import annotations

from typing import Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def run_group_name(run_id: str) -> str:
    return f"execution-{run_id}"


class LogLineEvent(TypedDict):
    type: Literal["log"]
    run_id: str
    seq: int
    stream: str
    text: str


class StatusEvent(TypedDict):
    type: Literal["status"]
    run_id: str
    seq: int
    status: str
    exit_code: int | None


LiveEvent = LogLineEvent | StatusEvent


def publish(event: LiveEvent) -> None:
    """Send one event to everyone watching the run; a missing layer or a send failure never breaks a run."""
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(layer.group_send)(
        run_group_name(event["run_id"]), {"type": "execution.event", "payload": dict(event)}
    )
