"""A transaction's queries on sites."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select, update

from server.core.models import Site
from server.core.transactions.sites import SitesTx
from server.store.connection import Connection
from server.store.rows import site_from_row, site_values
from server.store.schema import comments, moderator_sites, pages, sites


class SiteQueries(SitesTx):
    """Sites and their settings."""

    conn: Connection

    async def find_site(self, site_id: str) -> Site | None:
        row = (await self.conn.execute(select(sites).where(sites.c.id == site_id))).first()
        return site_from_row(row) if row else None

    async def list_sites(self) -> list[Site]:
        rows = await self.conn.execute(select(sites).order_by(sites.c.id))
        return [site_from_row(r) for r in rows]

    async def insert_site(self, site: Site) -> None:
        await self.conn.execute(insert(sites).values(**site_values(site)))

    async def update_site(self, site: Site) -> None:
        values = site_values(site)
        del values["id"], values["created_at"]
        await self.conn.execute(update(sites).where(sites.c.id == site.id).values(**values))

    async def site_counts(self, site_id: str) -> tuple[int, int, int]:
        counts = []
        for table in (pages, comments, moderator_sites):
            q = select(func.count()).select_from(table).where(table.c.site_id == site_id)
            counts.append(int((await self.conn.execute(q)).scalar_one()))
        return counts[0], counts[1], counts[2]

    async def delete_site(self, site_id: str) -> None:
        # Every table that names a site, a page or a comment does so with ON DELETE CASCADE
        # (schema.py; SQLite enforces it with PRAGMA foreign_keys=ON).
        await self.conn.execute(delete(sites).where(sites.c.id == site_id))
