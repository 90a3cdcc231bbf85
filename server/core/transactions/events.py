"""What a transaction offers on events: the durable log live readers catch up from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from server.core.models import Appended, Event, Page


class EventsTx(Protocol):
    """Each page's numbered events."""

    async def append_event(
        self, page_id: int, count_delta: int, kind: str, comment_id: int, now: int
    ) -> Appended:
        """Store the event at the page's next ``seq`` and move the page's comment count.
        The page's row is locked from the numbering to commit, which keeps ``seq`` gap-free
        and in commit order: a store numbers at commit (``seq`` and count ``PENDING``, read
        back with ``event_positions`` once committed), or here, and then this must be the
        transaction's last statement."""
        ...

    async def event_positions(self, event_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """Committed events' ``seq`` and their page's comment count after each, by id."""
        ...

    async def events_after(self, page: Page, after: int, limit: int) -> list[Event]: ...
