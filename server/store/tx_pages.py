"""A transaction's queries on pages: the threads' homes, with their counters."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy import select, update

from server.core.models import Page
from server.core.transactions.pages import PagesTx
from server.store import statements as st
from server.store.connection import Connection
from server.store.rows import page_from_row
from server.store.schema import pages


class PageQueries(PagesTx):
    """Pages, created on first sight, each with the ``seq`` its events are numbered by."""

    conn: Connection
    dialect: str

    async def find_page(self, site_id: str, key: str) -> Page | None:
        row = (await self.conn.execute(st.FIND_PAGE, {"b_site": site_id, "b_key": key})).first()
        return page_from_row(row) if row else None

    async def find_page_by_id(self, page_id: int) -> Page | None:
        row = (await self.conn.execute(st.FIND_PAGE_BY_ID, {"b_id": page_id})).first()
        return page_from_row(row) if row else None

    async def ensure_page(
        self, site_id: str, key: str, url: str | None, title: str | None, now: int
    ) -> Page:
        found = await self.find_page(site_id, key)
        if found is not None:
            if (url and not found.url) or (title and not found.title):
                await self.conn.execute(
                    update(pages)
                    .where(pages.c.id == found.id)
                    .values(url=found.url or url, title=found.title or title)
                )
                found = dataclasses.replace(found, url=found.url or url, title=found.title or title)
            return found
        await self.conn.execute(
            st.INSERT_PAGE[self.dialect],
            {"site_id": site_id, "key": key, "url": url, "title": title, "created_at": now},
        )
        page = await self.find_page(site_id, key)
        assert page is not None
        return page

    async def insert_page(self, site_id: str, key: str, now: int) -> bool:
        # RETURNING, not rowcount (which SQLAlchemy does not promise for INSERT): a row back
        # is a page this transaction made.
        result = await self.conn.execute(
            st.INSERT_PAGE[self.dialect].returning(pages.c.id),
            {"site_id": site_id, "key": key, "url": None, "title": None, "created_at": now},
        )
        return result.first() is not None

    async def lock_page(self, page_id: int) -> None:
        # SQLite's writers already queue on the database's lock.
        if self.dialect == "postgresql":
            await self.conn.execute(st.LOCK_PAGE, {"b_id": page_id})

    async def page_counts(self, site_id: str, keys: Sequence[str]) -> dict[str, int]:
        q = select(pages.c.key, pages.c.comment_count).where(
            pages.c.site_id == site_id, pages.c.key.in_(list(keys))
        )
        return {row.key: row.comment_count for row in await self.conn.execute(q)}

    async def page_seqs(self, page_ids: Sequence[int]) -> dict[int, int]:
        q = select(pages.c.id, pages.c.seq).where(pages.c.id.in_(list(page_ids)))
        return {row.id: row.seq for row in await self.conn.execute(q)}

    async def site_pages(self, site_id: str) -> list[Page]:
        rows = await self.conn.execute(
            select(pages).where(pages.c.site_id == site_id).order_by(pages.c.id)
        )
        return [page_from_row(r) for r in rows]
