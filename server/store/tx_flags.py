"""A transaction's queries on readers' flags."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select, update

from server.core.transactions.moderation import FlagsTx
from server.store.connection import Connection
from server.store.schema import comment_flags, comments

# Flag rows name who flagged: a keyed hash of the network, and the author token's hash.
NETWORK_FLAG, AUTHOR_FLAG = "ip:", "a:"
FORGOTTEN_FLAG = NETWORK_FLAG + "forgotten-"  # still a network's flag, no longer whose


class FlagQueries(FlagsTx):
    """Flags, one row per reporter; a comment's count is its networks'."""

    conn: Connection

    async def add_flag(self, comment_id: int, network: str, author: str | None, now: int) -> int:
        """Count a flag once per network and once per author; returns the comment's flag
        count (the networks that flagged it)."""
        reporters = _reporters(network, author)
        seen = (
            await self.conn.execute(
                select(func.count())
                .select_from(comment_flags)
                .where(
                    comment_flags.c.comment_id == comment_id,
                    comment_flags.c.reporter.in_(reporters),
                )
            )
        ).scalar_one()
        if not seen:
            await self.conn.execute(
                insert(comment_flags),
                [{"comment_id": comment_id, "reporter": r, "created_at": now} for r in reporters],
            )
        return await self._store_count(comment_id)

    async def remove_flag(self, comment_id: int, network: str, author: str | None, at: int) -> int:
        """Take back the flag this network (and author) raised at ``at``, if it is still
        there; returns the comment's flag count."""
        reporters = _reporters(network, author)
        await self.conn.execute(
            delete(comment_flags).where(
                comment_flags.c.comment_id == comment_id,
                comment_flags.c.reporter.in_(reporters),
                comment_flags.c.created_at == at,
            )
        )
        return await self._store_count(comment_id)

    async def _store_count(self, comment_id: int) -> int:
        """Count the networks that flag the comment into its ``flags`` column; returns it."""
        n = (
            await self.conn.execute(
                select(func.count())
                .select_from(comment_flags)
                .where(
                    comment_flags.c.comment_id == comment_id,
                    comment_flags.c.reporter.startswith(NETWORK_FLAG),
                )
            )
        ).scalar_one()
        await self.conn.execute(update(comments).where(comments.c.id == comment_id).values(flags=n))
        return int(n)

    async def forget_flagger(self, author_hash: str) -> None:
        """Drop the rows naming this author as a flagger (counts come from networks)."""
        await self.conn.execute(
            delete(comment_flags).where(comment_flags.c.reporter == AUTHOR_FLAG + author_hash[:62])
        )

    async def clear_flags(self, comment_id: int) -> None:
        await self.conn.execute(
            delete(comment_flags).where(comment_flags.c.comment_id == comment_id)
        )
        await self.conn.execute(update(comments).where(comments.c.id == comment_id).values(flags=0))


def _reporters(network: str, author: str | None) -> list[str]:
    # The column holds 64 characters: 62 hex digits of an author hash are as unique.
    return [NETWORK_FLAG + network] + ([AUTHOR_FLAG + author[:62]] if author else [])
