"""A transaction's queries on events: the log live readers catch up from."""

from __future__ import annotations

from server.core.events import replayed
from server.core.models import Event, Page
from server.core.transactions.events import EventsTx
from server.store import statements as st
from server.store.connection import Connection
from server.store.rows import comment_from_row


class EventQueries(EventsTx):
    """Each page's numbered events."""

    conn: Connection

    async def insert_event(self, event: Event, now: int) -> None:
        await self.conn.execute(
            st.INSERT_EVENT,
            {
                "page_id": event.page_id,
                "seq": event.seq,
                "type": event.type,
                "comment_id": event.comment_id,
                "comment_count": event.data.get("count", 0),
                "created_at": now,
            },
        )

    async def events_after(self, page: Page, after: int, limit: int) -> list[Event]:
        rows = await self.conn.execute(
            st.EVENTS_AFTER, {"b_page": page.id, "b_after": after, "b_limit": limit}
        )
        return [
            replayed(
                page,
                row.seq,
                row.type,
                row.comment_count,
                row.comment_id,
                comment_from_row(row) if row.id is not None else None,
            )
            for row in rows
        ]
