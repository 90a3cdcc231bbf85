"""A transaction's queries on events: the log live readers catch up from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from server.core.events import replayed
from server.core.models import PENDING, Appended, Event, Page
from server.core.transactions.events import EventsTx
from server.store import statements as st
from server.store.connection import Connection
from server.store.rows import comment_from_row, page_from_row


class EventQueries(EventsTx):
    """Each page's numbered events."""

    conn: Connection
    dialect: str
    unnumbered: list[int]

    async def append_event(
        self, page_id: int, count_delta: int, kind: str, comment_id: int, now: int
    ) -> Appended:
        if self.dialect == "postgresql":
            # Numbered at commit (migration 0015): the page's seq and count come back with
            # ``event_positions`` once it is committed.
            row = (
                await self.conn.execute(
                    st.STORE_UNNUMBERED_EVENT,
                    {
                        "b_page": page_id,
                        "b_delta": count_delta,
                        "b_type": kind,
                        "b_comment": comment_id,
                        "b_now": now,
                    },
                )
            ).one()
            page = replace(page_from_row(row), seq=PENDING, count=PENDING)
            self.unnumbered.append(int(row.event_id))
            return Appended(page, int(row.event_id))
        # SQLite numbers here: its writers queue on the whole database's lock anyway, and a
        # statement costs no round trip.
        rows = await self.conn.execute(st.ADVANCE_PAGE, {"b_id": page_id, "b_delta": count_delta})
        page = page_from_row(rows.one())
        stored = await self.conn.execute(
            st.INSERT_EVENT,
            {
                "page_id": page.id,
                "seq": page.seq,
                "type": kind,
                "comment_id": comment_id,
                "comment_count": page.count,
                "created_at": now,
            },
        )
        return Appended(page, int(stored.scalar_one()))

    async def event_positions(self, event_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        rows = await self.conn.execute(st.EVENT_POSITIONS, {"b_ids": list(event_ids)})
        return {int(row.id): (int(row.seq), int(row.comment_count)) for row in rows}

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
