"""A transaction's queries on moderators' accounts and their grants."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update

from server.core.models import Moderator, Role
from server.core.transactions.accounts import ModeratorsTx
from server.store.connection import Connection
from server.store.schema import invitations, moderator_sites, moderators


class ModeratorQueries(ModeratorsTx):
    """Accounts, each read with the sites it may moderate."""

    conn: Connection

    async def _moderator(self, where: Any) -> Moderator | None:
        row = (await self.conn.execute(select(moderators).where(where))).first()
        if row is None:
            return None
        grants = await self.conn.execute(
            select(moderator_sites.c.site_id, moderator_sites.c.role).where(
                moderator_sites.c.moderator_id == row.id
            )
        )
        return Moderator(
            id=row.id,
            email=row.email,
            password_hash=row.password_hash,
            sites={g.site_id: Role(g.role) for g in grants},
            display_name=row.display_name,
        )

    async def find_moderator(self, email: str) -> Moderator | None:
        return await self._moderator(moderators.c.email == email)

    async def find_moderator_by_id(self, moderator_id: int) -> Moderator | None:
        return await self._moderator(moderators.c.id == moderator_id)

    async def list_moderators(self) -> list[Moderator]:
        grants: dict[int, dict[str, Role]] = {}
        for g in await self.conn.execute(select(moderator_sites)):
            grants.setdefault(g.moderator_id, {})[g.site_id] = Role(g.role)
        rows = await self.conn.execute(select(moderators).order_by(moderators.c.email))
        return [
            Moderator(
                id=r.id,
                email=r.email,
                password_hash=r.password_hash,
                sites=grants.get(r.id, {}),
                display_name=r.display_name,
            )
            for r in rows
        ]

    async def insert_moderator(self, email: str, password_hash: str, now: int) -> Moderator:
        row = (
            await self.conn.execute(
                insert(moderators)
                .values(email=email, password_hash=password_hash, created_at=now)
                .returning(moderators.c.id)
            )
        ).one()
        return Moderator(id=row.id, email=email, password_hash=password_hash)

    async def set_password(self, moderator_id: int, password_hash: str) -> None:
        await self.conn.execute(
            update(moderators)
            .where(moderators.c.id == moderator_id)
            .values(password_hash=password_hash)
        )

    async def set_display_name(self, moderator_id: int, name: str | None) -> None:
        await self.conn.execute(
            update(moderators).where(moderators.c.id == moderator_id).values(display_name=name)
        )

    async def delete_moderator(self, moderator_id: int) -> None:
        await self.conn.execute(delete(moderators).where(moderators.c.id == moderator_id))

    async def grant(self, moderator_id: int, site_id: str, role: Role) -> None:
        await self.conn.execute(
            delete(moderator_sites).where(
                moderator_sites.c.moderator_id == moderator_id, moderator_sites.c.site_id == site_id
            )
        )
        await self.conn.execute(
            insert(moderator_sites).values(
                moderator_id=moderator_id, site_id=site_id, role=role.value
            )
        )

    async def revoke(self, moderator_id: int, site_id: str) -> None:
        await self.conn.execute(
            delete(moderator_sites).where(
                moderator_sites.c.moderator_id == moderator_id, moderator_sites.c.site_id == site_id
            )
        )
        await self._drop_invitations_by(moderator_id, site_id)

    async def _drop_invitations_by(self, moderator_id: int, site_id: str) -> None:
        """An owner who loses a site takes back the invitations they sent for it."""
        await self.conn.execute(
            delete(invitations).where(
                invitations.c.invited_by == moderator_id, invitations.c.site_id == site_id
            )
        )

    async def site_moderators(self, site_id: str) -> list[tuple[int, str, Role]]:
        q = (
            select(moderators.c.id, moderators.c.email, moderator_sites.c.role)
            .join(moderator_sites, moderator_sites.c.moderator_id == moderators.c.id)
            .where(moderator_sites.c.site_id == site_id)
            .order_by(moderators.c.email)
        )
        return [(r.id, r.email, Role(r.role)) for r in await self.conn.execute(q)]
