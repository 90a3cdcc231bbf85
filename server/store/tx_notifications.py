"""A transaction's queries on readers' notifications."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from server.core.transactions.notifications import (
    NewNotification,
    NotificationsTx,
    StoredNotification,
)
from server.store.connection import Connection
from server.store.schema import notifications

n = notifications.c
REACTIONS = "reactions"


class NotificationQueries(NotificationsTx):
    """Notifications, one row per recipient and cause; reactions summarised per comment."""

    conn: Connection
    dialect: str

    def _insert_notification(self) -> Any:
        return (postgresql if self.dialect == "postgresql" else sqlite).insert(notifications)

    async def add_notification(
        self, site_id: str, recipient: str, kind: str, comment_id: int, page_id: int, now: int
    ) -> None:
        await self.add_notifications(
            [NewNotification(site_id, recipient, kind, comment_id, page_id, now)]
        )

    async def add_notifications(self, rows: Sequence[NewNotification]) -> None:
        if not rows:
            return
        statement = self._insert_notification().on_conflict_do_nothing()
        if self.dialect == "postgresql":
            # RETURNING makes SQLAlchemy send the rows as one multi-row INSERT (its
            # "insertmanyvalues") instead of a statement per row: a fan-out batch's hundreds
            # of rows cost PostgreSQL one statement's overhead, not hundreds.
            statement = statement.returning(n.id)
        await self.conn.execute(
            statement,
            [
                # (``actors`` 1 and ``read_at`` NULL by the columns' defaults: the fan-out
                # writes hundreds a batch, and each value is a bind to process.)
                {
                    "site_id": row.site_id,
                    "recipient": row.recipient,
                    "kind": row.kind,
                    "comment_id": row.comment_id,
                    "page_id": row.page_id,
                    "created_at": row.created_at,
                    "updated_at": row.created_at,
                }
                for row in rows
            ],
        )

    async def summarise_reactions(
        self,
        site_id: str,
        recipient: str,
        comment_id: int,
        page_id: int,
        actors: int,
        now: int,
        *,
        renew: bool,
    ) -> None:
        row = (
            await self.conn.execute(
                select(n.id, n.read_at).where(
                    n.site_id == site_id,
                    n.recipient == recipient,
                    n.kind == REACTIONS,
                    n.comment_id == comment_id,
                )
            )
        ).first()
        if row is None:
            if renew and actors > 0:
                await self.conn.execute(
                    notifications.insert().values(
                        site_id=site_id,
                        recipient=recipient,
                        kind=REACTIONS,
                        comment_id=comment_id,
                        page_id=page_id,
                        actors=actors,
                        created_at=now,
                        updated_at=now,
                        read_at=None,
                    )
                )
            return
        if actors <= 0:
            await self.conn.execute(delete(notifications).where(n.id == row.id))
        elif renew and actors > 0:
            await self.conn.execute(
                update(notifications)
                .where(n.id == row.id)
                .values(actors=actors, updated_at=now, read_at=None)
            )
        else:
            await self.conn.execute(
                update(notifications).where(n.id == row.id).values(actors=max(actors, 0))
            )

    async def notifications_of(
        self, site_id: str, recipient: str, after: tuple[int, int] | None, limit: int
    ) -> list[StoredNotification]:
        query = select(notifications).where(n.site_id == site_id, n.recipient == recipient)
        if after is not None:
            updated_at, last_id = after
            query = query.where(
                or_(n.updated_at < updated_at, and_(n.updated_at == updated_at, n.id < last_id))
            )
        rows = await self.conn.execute(
            query.order_by(n.updated_at.desc(), n.id.desc()).limit(limit)
        )
        return [
            StoredNotification(
                id=int(row.id),
                kind=str(row.kind),
                comment_id=int(row.comment_id),
                page_id=int(row.page_id),
                actors=int(row.actors),
                created_at=int(row.created_at),
                updated_at=int(row.updated_at),
                read_at=None if row.read_at is None else int(row.read_at),
            )
            for row in rows
        ]

    async def unread_notifications(self, site_id: str, recipient: str) -> int:
        result = await self.conn.execute(
            select(func.count()).where(
                n.site_id == site_id, n.recipient == recipient, n.read_at.is_(None)
            )
        )
        return int(result.scalar_one())

    async def mark_notifications_read(
        self, site_id: str, recipient: str, ids: Sequence[int] | None, now: int
    ) -> None:
        query = update(notifications).where(
            n.site_id == site_id, n.recipient == recipient, n.read_at.is_(None)
        )
        if ids is not None:
            if not ids:
                return
            query = query.where(n.id.in_(list(ids)))
        await self.conn.execute(query.values(read_at=now))

    async def delete_notification(self, site_id: str, recipient: str, notification_id: int) -> bool:
        result = await self.conn.execute(
            delete(notifications).where(
                n.id == notification_id, n.site_id == site_id, n.recipient == recipient
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def delete_notifications_of(self, site_id: str, recipient: str) -> None:
        await self.conn.execute(
            delete(notifications).where(n.site_id == site_id, n.recipient == recipient)
        )

    async def delete_notifications_about(self, comment_ids: Sequence[int]) -> None:
        if comment_ids:
            await self.conn.execute(
                delete(notifications).where(n.comment_id.in_(list(comment_ids)))
            )

    async def delete_notification_of_kind(
        self, site_id: str, recipient: str, kind: str, comment_id: int
    ) -> bool:
        result = await self.conn.execute(
            delete(notifications).where(
                n.site_id == site_id,
                n.recipient == recipient,
                n.kind == kind,
                n.comment_id == comment_id,
            )
        )
        return bool(result.rowcount)

    async def withdraw_notifications(self, comment_id: int, kinds: Sequence[str]) -> list[str]:
        where = (n.comment_id == comment_id, n.kind.in_(list(kinds)))
        recipients = await self.conn.execute(select(n.recipient).where(*where))
        told = sorted({str(row.recipient) for row in recipients})
        if told:
            await self.conn.execute(delete(notifications).where(*where))
        return told

    async def move_notifications(self, site_id: str, source: str, target: str) -> int:
        held = notifications.alias("held")
        # What the target was told already stays once: the source's copy goes.
        await self.conn.execute(
            delete(notifications).where(
                n.site_id == site_id,
                n.recipient == source,
                select(held.c.id)
                .where(
                    held.c.site_id == site_id,
                    held.c.recipient == target,
                    held.c.kind == n.kind,
                    held.c.comment_id == n.comment_id,
                )
                .exists(),
            )
        )
        result = await self.conn.execute(
            update(notifications)
            .where(n.site_id == site_id, n.recipient == source)
            .values(recipient=target)
        )
        return int(result.rowcount or 0)
