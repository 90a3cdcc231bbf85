"""What a transaction offers on events: the durable log live readers catch up from."""

from __future__ import annotations

from typing import Protocol

from server.core.models import Event, Page


class EventsTx(Protocol):
    """Each page's numbered events."""

    async def insert_event(self, event: Event, now: int) -> None: ...
    async def events_after(self, page: Page, after: int, limit: int) -> list[Event]: ...
