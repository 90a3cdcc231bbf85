"""A transaction's purges: what is kept only for a while, forgotten on schedule."""

from __future__ import annotations

import secrets

from sqlalchemy import delete, select, update

from server.core.models import Status
from server.core.transactions.maintenance import MaintenanceTx
from server.store.connection import Connection
from server.store.schema import (
    comment_flags,
    comments,
    invitations,
    notifications,
    password_resets,
    reactions,
    sessions,
)
from server.store.tx_flags import FORGOTTEN_FLAG, NETWORK_FLAG


class MaintenanceQueries(MaintenanceTx):
    """Purges; each returns how many rows it changed or removed."""

    conn: Connection

    async def purge_deleted_text(self, before: int) -> int:
        result = await self.conn.execute(
            update(comments)
            .where(
                comments.c.status == Status.DELETED.value,
                comments.c.deleted_at.is_not(None),
                comments.c.deleted_at < before,
            )
            .values(body="", body_hash=None, author_name=None, deleted_at=None, deleted_from=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def purge_ip_hashes(self, before: int) -> int:
        result = await self.conn.execute(
            update(comments)
            .where(comments.c.ip_hash.is_not(None), comments.c.created_at < before)
            .values(ip_hash=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def purge_flag_networks(self, before: int) -> int:
        """Unlink flags older than ``before`` from the network that raised them: each keeps
        counting, under a random name that no network hashes to."""
        rows = (
            await self.conn.execute(
                select(comment_flags.c.comment_id, comment_flags.c.reporter).where(
                    comment_flags.c.reporter.startswith(NETWORK_FLAG),
                    ~comment_flags.c.reporter.startswith(FORGOTTEN_FLAG),
                    comment_flags.c.created_at < before,
                )
            )
        ).all()
        for comment_id, reporter in rows:
            await self.conn.execute(
                update(comment_flags)
                .where(
                    comment_flags.c.comment_id == comment_id,
                    comment_flags.c.reporter == reporter,
                )
                .values(reporter=FORGOTTEN_FLAG + secrets.token_hex(8))
            )
        return len(rows)

    async def purge_removed_reactions(self, before: int) -> int:
        result = await self.conn.execute(
            delete(reactions).where(
                reactions.c.removed_at.is_not(None), reactions.c.removed_at < before
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def purge_reaction_networks(self, before: int) -> int:
        # A live reaction keeps counting; only its network stops limiting the network's
        # other readers on that comment.
        result = await self.conn.execute(
            update(reactions)
            .where(reactions.c.network.is_not(None), reactions.c.created_at < before)
            .values(network=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def purge_notifications(self, before: int) -> int:
        result = await self.conn.execute(
            delete(notifications).where(notifications.c.updated_at < before)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def purge_sessions(self, before: int) -> int:
        result = await self.conn.execute(delete(sessions).where(sessions.c.created_at < before))
        return int(getattr(result, "rowcount", 0) or 0)

    async def purge_invitations(self, now: int) -> int:
        result = await self.conn.execute(delete(invitations).where(invitations.c.expires_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)

    async def purge_password_resets(self, now: int) -> int:
        result = await self.conn.execute(
            delete(password_resets).where(password_resets.c.expires_at <= now)
        )
        return int(getattr(result, "rowcount", 0) or 0)
