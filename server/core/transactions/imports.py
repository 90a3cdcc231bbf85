"""What a transaction offers imports beyond ordinary comments."""

from __future__ import annotations

from typing import Protocol

from server.core.models import Status


class ImportsTx(Protocol):
    """What earlier runs of an import wrote, and counts changed in bulk."""

    async def imported_comments(
        self, site_id: str
    ) -> dict[str, tuple[int, int | None, int, Status]]:
        """Every comment an import wrote on the site: its key -> (id, parent id, page id,
        status)."""
        ...

    async def add_page_count(self, page_id: int, delta: int) -> None:
        """Change a page's comment count without taking a ``seq`` (imports publish no
        events)."""
        ...
