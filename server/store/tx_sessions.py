"""A transaction's queries on how moderators get in: sessions and password reset links."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update

from server.core.transactions.accounts import PasswordResetsTx, SessionsTx
from server.store.connection import Connection
from server.store.schema import password_resets, sessions


class SessionQueries(SessionsTx, PasswordResetsTx):
    """Sessions by token hash, and reset links (only an account's newest works)."""

    conn: Connection

    async def insert_session(self, token_hash: str, moderator_id: int, csrf: str, now: int) -> None:
        await self.conn.execute(
            insert(sessions).values(
                token_hash=token_hash,
                moderator_id=moderator_id,
                csrf=csrf,
                created_at=now,
                seen_at=now,
            )
        )

    async def find_session(self, token_hash: str) -> tuple[int, str, int, int] | None:
        row = (
            await self.conn.execute(select(sessions).where(sessions.c.token_hash == token_hash))
        ).first()
        return (row.moderator_id, row.csrf, row.created_at, row.seen_at) if row else None

    async def touch_session(self, token_hash: str, now: int) -> None:
        await self.conn.execute(
            update(sessions).where(sessions.c.token_hash == token_hash).values(seen_at=now)
        )

    async def delete_session(self, token_hash: str) -> None:
        await self.conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash))

    async def delete_sessions_of(self, moderator_id: int) -> int:
        result = await self.conn.execute(
            delete(sessions).where(sessions.c.moderator_id == moderator_id)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def insert_password_reset(
        self, token_hash: str, moderator_id: int, now: int, expires_at: int
    ) -> None:
        await self.delete_password_resets(moderator_id)  # only the newest link works
        await self.conn.execute(
            insert(password_resets).values(
                token_hash=token_hash,
                moderator_id=moderator_id,
                created_at=now,
                expires_at=expires_at,
            )
        )

    async def find_password_reset(self, token_hash: str) -> tuple[int, int] | None:
        row = (
            await self.conn.execute(
                select(password_resets).where(password_resets.c.token_hash == token_hash)
            )
        ).first()
        return (row.moderator_id, row.expires_at) if row else None

    async def delete_password_resets(self, moderator_id: int) -> None:
        await self.conn.execute(
            delete(password_resets).where(password_resets.c.moderator_id == moderator_id)
        )
