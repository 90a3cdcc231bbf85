"""A transaction's queries on owners' invitations to moderate a site."""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from server.core.models import Invitation, Role
from server.core.transactions.accounts import InvitationsTx
from server.store.connection import Connection
from server.store.rows import invitation_from_row
from server.store.schema import invitations


class InvitationQueries(InvitationsTx):
    """Invitations by token hash; one open invitation per address and site."""

    conn: Connection

    async def insert_invitation(
        self,
        token_hash: str,
        site_id: str,
        email: str,
        role: Role,
        invited_by: int,
        now: int,
        expires_at: int,
    ) -> None:
        # One open invitation per address and site: inviting again replaces the link.
        await self.conn.execute(
            delete(invitations).where(
                invitations.c.site_id == site_id, invitations.c.email == email
            )
        )
        await self.conn.execute(
            insert(invitations).values(
                token_hash=token_hash,
                site_id=site_id,
                email=email,
                role=role.value,
                invited_by=invited_by,
                created_at=now,
                expires_at=expires_at,
            )
        )

    async def find_invitation(self, token_hash: str) -> Invitation | None:
        row = (
            await self.conn.execute(
                select(invitations).where(invitations.c.token_hash == token_hash)
            )
        ).first()
        return invitation_from_row(row) if row else None

    async def delete_invitation(self, invitation_id: int, site_id: str) -> bool:
        result = await self.conn.execute(
            delete(invitations).where(
                invitations.c.id == invitation_id, invitations.c.site_id == site_id
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def site_invitations(self, site_id: str) -> list[Invitation]:
        rows = await self.conn.execute(
            select(invitations)
            .where(invitations.c.site_id == site_id)
            .order_by(invitations.c.email)
        )
        return [invitation_from_row(r) for r in rows]
