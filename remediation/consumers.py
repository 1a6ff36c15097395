"""Websocket consumers: authenticate, check access to the run, join its group, forward events."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from remediation.live_events import run_group_name


class ExecutionLogConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    async def connect(self) -> None:
        user = self.scope.get("user")
        run_id = str(self.scope["url_route"]["kwargs"]["run_id"])
        if user is None or not user.is_authenticated or not await self._may_view(user, run_id):
            await self.close(code=4403)
            return
        self.group = run_group_name(run_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def execution_events(self, event: dict[str, Any]) -> None:
        """A batch of events for this run, forwarded one websocket message per event, in order."""
        for payload in event["payloads"]:
            await self.send_json(payload)

    @database_sync_to_async
    def _may_view(self, user: Any, run_id: str) -> bool:
        from remediation.access import runs_visible_to

        return runs_visible_to(user).filter(pk=run_id).exists()
