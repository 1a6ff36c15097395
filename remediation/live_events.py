"""Typed live events for the execution page, published on the channel layer.

Publishing must never slow a run down: :class:`LivePublisher` hands events to one background
thread that owns an event loop (and so one channel-layer connection) and sends them in batches,
one group message per batch. A dead channel layer loses live updates, never the run or its log.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Sequence
from typing import Any, Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


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


def _group_message(events: Sequence[LiveEvent]) -> dict[str, Any]:
    return {"type": "execution.events", "payloads": [dict(event) for event in events]}


def publish(event: LiveEvent) -> None:
    """Send one event to everyone watching the run (synchronously; for single status changes)."""
    publish_many([event])


def publish_many(events: Sequence[LiveEvent]) -> None:
    layer = get_channel_layer()
    if layer is None or not events:
        return
    async_to_sync(layer.group_send)(run_group_name(events[0]["run_id"]), _group_message(events))


class LivePublisher:
    """Publishes a run's events from a background thread, in batches, in order."""

    _STOP = object()

    def __init__(self, run_id: str, *, layer: Any = None) -> None:
        self.group = run_group_name(run_id)
        #: None: the project's configured layer (looked up on the publishing thread).
        self._layer = layer
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name=f"live-{run_id}", daemon=True)
        self._thread.start()

    def send(self, events: Sequence[LiveEvent]) -> None:
        if events:
            self._queue.put(list(events))

    def close(self, timeout: float = 5.0) -> None:
        self._queue.put(self._STOP)
        self._thread.join(timeout)

    def _work(self) -> None:
        layer = self._layer if self._layer is not None else get_channel_layer()
        loop = asyncio.new_event_loop()
        try:
            while True:
                batch = self._queue.get()
                if batch is self._STOP:
                    return
                # Drain whatever else is waiting, so a burst goes out as few messages.
                stop = False
                while not self._queue.empty():
                    more = self._queue.get_nowait()
                    if more is self._STOP:
                        stop = True
                        break
                    batch.extend(more)
                if layer is not None:
                    try:
                        loop.run_until_complete(layer.group_send(self.group, _group_message(batch)))
                    except Exception:
                        logger.warning(
                            "could not publish %d live event(s) to %s", len(batch), self.group, exc_info=True
                        )
                if stop:
                    return
        finally:
            loop.close()
