"""A transaction's queries on the fan-out's cursors: what each page published since the
fan-out last read it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Integer, bindparam, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from server.core.models import EventType, Status
from server.core.transactions.fanout import FanOutPage, FanOutTx, Told
from server.store.connection import Connection
from server.store.schema import comments, events, fanout_cursors, pages

c = comments.c
f = fanout_cursors.c
parent, quoted = comments.alias("parent"), comments.alias("quoted")
# Built once with expanding parameters: the fan-out runs these every batch, and building
# a statement (its IN list of the batch's ids) cost as much as running it.
_CLAIM = (
    select(f.page_id, f.seq, pages.c.seq.label("upto"))
    .select_from(fanout_cursors.join(pages, pages.c.id == f.page_id))
    .where(f.page_id.in_(bindparam("b_pages", expanding=True)))
    .order_by(f.page_id)
)
_CLAIM_LOCKED = _CLAIM.with_for_update(of=fanout_cursors, skip_locked=True)
# Only the columns the fan-out reads (it takes hundreds of rows a batch under load), with
# the authors of what each answers: their notifications need nothing more. In ``Told``'s
# order, after the event's seq.
_PUBLISHED = (
    select(
        events.c.seq,
        c.id,
        c.site_id,
        c.page_id,
        c.parent_id,
        c.reply_to_id,
        c.author_hash,
        c.moderator,
        c.status,
        c.created_at,
        parent.c.author_hash,
        quoted.c.author_hash,
    )
    .select_from(
        events.join(comments, c.id == events.c.comment_id)
        .outerjoin(parent, parent.c.id == c.parent_id)
        .outerjoin(quoted, quoted.c.id == c.reply_to_id)
    )
    .where(
        events.c.page_id == bindparam("b_page"),
        events.c.seq > bindparam("b_after"),
        events.c.seq <= bindparam("b_upto"),
        events.c.type == EventType.CREATED.value,
    )
    .order_by(events.c.seq)
    .limit(bindparam("b_limit", type_=Integer))
)
_ADVANCE = (
    update(fanout_cursors).where(f.page_id == bindparam("b_page")).values(seq=bindparam("b_seq"))
)


def _told(row: Any) -> tuple[int, Told]:
    """(seq, comment) of a row of ``_PUBLISHED``, by position (hundreds a batch)."""
    (seq, comment_id, site_id, page_id, parent_id, reply_to_id, author, moderator) = row[:8]
    status, created_at, parent_author, quoted_author = row[8:]
    told = Told(
        comment_id,
        site_id,
        page_id,
        parent_id,
        reply_to_id,
        author,
        bool(moderator),
        Status(status),
        created_at,
        parent_author,
        quoted_author,
    )
    return int(seq), told


class FanOutQueries(FanOutTx):
    conn: Connection
    dialect: str

    async def lagging_pages(self, limit: int) -> list[int]:
        query = (
            select(pages.c.id)
            .select_from(pages.outerjoin(fanout_cursors, f.page_id == pages.c.id))
            .where(pages.c.seq > func.coalesce(f.seq, 0))
            .order_by(pages.c.id)
            .limit(limit)
        )
        return [int(page_id) for page_id in (await self.conn.execute(query)).scalars()]

    async def _ensure_cursors(self, page_ids: Sequence[int]) -> None:
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        await self.conn.execute(
            dialect.insert(fanout_cursors)
            .from_select(
                ["page_id", "seq"],
                select(pages.c.id, literal(0, BigInteger))
                .where(pages.c.id.in_(list(page_ids)))
                .order_by(pages.c.id),
            )
            .on_conflict_do_nothing()
        )

    async def pages_posted_after(self, event_id: int | None, limit: int) -> tuple[int, list[int]]:
        newest = int((await self.conn.execute(select(func.max(events.c.id)))).scalar() or 0)
        if event_id is None:
            return newest, []
        # From ``limit`` ids back: an event whose id was taken before the last look's newest
        # may commit after it. Only pages still behind their cursor come back (not those
        # this process just read, nor edits' and deletions' pages already read to the end).
        # The pages first, then each page's row once: a hot page's row has a version per
        # post, and reading it once per event was 125 ms a poll at 250 posts a second.
        posted = (
            select(events.c.page_id)
            .where(
                events.c.id > event_id - limit,
                events.c.id <= newest,
                events.c.type == EventType.CREATED.value,
            )
            .distinct()
            .subquery("posted")
        )
        behind = (
            select(posted.c.page_id)
            .select_from(
                posted.join(pages, pages.c.id == posted.c.page_id).outerjoin(
                    fanout_cursors, f.page_id == posted.c.page_id
                )
            )
            .where(pages.c.seq > func.coalesce(f.seq, 0))
            .limit(limit)
        )
        found = sorted(int(page_id) for page_id in (await self.conn.execute(behind)).scalars())
        return newest, found

    async def claim_fanout(self, page_ids: Sequence[int]) -> list[FanOutPage]:
        if not page_ids:
            return []
        query = _CLAIM_LOCKED if self.dialect == "postgresql" else _CLAIM
        wanted = {"b_pages": list(page_ids)}
        claimed = [
            FanOutPage(int(row.page_id), int(row.seq), int(row.upto))
            for row in await self.conn.execute(query, wanted)
        ]
        if len(claimed) < len(page_ids):
            # Pages without a cursor yet (or held elsewhere): made, then read again. Only
            # then: the insert is a write to every page's cursor, each batch.
            await self._ensure_cursors(page_ids)
            claimed = [
                FanOutPage(int(row.page_id), int(row.seq), int(row.upto))
                for row in await self.conn.execute(query, wanted)
            ]
        return claimed

    async def published_between(
        self, page_id: int, after: int, upto: int, limit: int
    ) -> list[tuple[int, Told]]:
        rows = await self.conn.execute(
            _PUBLISHED,
            {"b_page": page_id, "b_after": after, "b_upto": upto, "b_limit": limit},
        )
        return [_told(row) for row in rows.all()]  # (all at once: one fetch, not a row each)

    async def advance_fanout(self, cursors: dict[int, int]) -> None:
        if cursors:
            await self.conn.execute(
                _ADVANCE, [{"b_page": page, "b_seq": seq} for page, seq in cursors.items()]
            )

    async def lock_fanout(self, page_ids: Sequence[int]) -> None:
        # SQLite's writers already queue on the database's lock.
        if not page_ids or self.dialect != "postgresql":
            return
        await self._ensure_cursors(page_ids)
        await self.conn.execute(
            select(f.page_id)
            .where(f.page_id.in_(sorted(set(page_ids))))
            .order_by(f.page_id)
            .with_for_update(read=True)
        )
