"""Queries only imports need: what earlier runs wrote, and counts changed in bulk."""

from __future__ import annotations

from sqlalchemy import select, update

from server.core.models import Status
from server.core.transactions.imports import ImportsTx
from server.store.connection import Connection
from server.store.schema import comments, pages

IMPORT_PREFIX = "import:"


class ImportQueries(ImportsTx):
    """What an import reads and writes besides ordinary comments and pages."""

    conn: Connection

    async def imported_comments(
        self, site_id: str
    ) -> dict[str, tuple[int, int | None, int, Status]]:
        c = comments.c
        q = select(c.idempotency_key, c.id, c.parent_id, c.page_id, c.status).where(
            c.site_id == site_id, c.idempotency_key.startswith(IMPORT_PREFIX, autoescape=True)
        )
        return {
            row.idempotency_key: (row.id, row.parent_id, row.page_id, Status(row.status))
            for row in await self.conn.execute(q)
        }

    async def add_page_count(self, page_id: int, delta: int) -> None:
        await self.conn.execute(
            update(pages)
            .where(pages.c.id == page_id)
            .values(comment_count=pages.c.comment_count + delta)
        )
