"""A transaction's queries on bans."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy import delete, insert, select

from server.core.models import Ban
from server.core.transactions.moderation import BansTx
from server.store.connection import Connection
from server.store.rows import ban_from_row
from server.store.schema import bans


class BanQueries(BansTx):
    """Authors and networks a site refuses or holds."""

    conn: Connection

    async def insert_ban(self, ban: Ban, moderator_id: int | None) -> int:
        values = dataclasses.asdict(ban)
        del values["id"]
        row = (
            await self.conn.execute(
                insert(bans).values(moderator_id=moderator_id, **values).returning(bans.c.id)
            )
        ).one()
        return int(row.id)

    async def list_bans(self, site_ids: Sequence[str]) -> list[Ban]:
        q = select(bans).where(bans.c.site_id.in_(list(site_ids))).order_by(bans.c.id.desc())
        return [ban_from_row(r) for r in await self.conn.execute(q)]

    async def delete_ban(self, ban_id: int, site_ids: Sequence[str]) -> bool:
        result = await self.conn.execute(
            delete(bans).where(bans.c.id == ban_id, bans.c.site_id.in_(list(site_ids)))
        )
        return bool(getattr(result, "rowcount", 0))
