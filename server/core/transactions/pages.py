"""What a transaction offers on pages: the threads' homes, with their counters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from server.core.models import Page


class PagesTx(Protocol):
    """Pages of a site, each with its comment count and the ``seq`` of its last event."""

    async def find_page(self, site_id: str, key: str) -> Page | None: ...
    async def find_page_by_id(self, page_id: int) -> Page | None: ...
    async def ensure_page(
        self, site_id: str, key: str, url: str | None, title: str | None, now: int
    ) -> Page: ...
    async def insert_page(self, site_id: str, key: str, now: int) -> bool:
        """Make the page unless it exists: whether this transaction made it (a concurrent
        maker's row is waited for on its unique key, then counts as existing)."""
        ...

    async def lock_page(self, page_id: int) -> None:
        """Lock the page's row until commit: changes that must see the page's other
        comments as they stay (pins) queue on it, as events do."""
        ...

    async def page_counts(self, site_id: str, keys: Sequence[str]) -> dict[str, int]: ...
    async def page_seqs(self, page_ids: Sequence[int]) -> dict[int, int]: ...
    async def site_pages(self, site_id: str) -> list[Page]: ...
