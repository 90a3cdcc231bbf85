"""One transaction's queries: the store's implementation of ``core.ports.Tx``."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import and_, exists, func, insert, literal, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from server.core.cursors import Cursor
from server.core.models import (
    Comment,
    Event,
    Order,
    Page,
    Site,
    Status,
)
from server.core.ports import NewComment
from server.store.rows import comment_from_row, page_from_row, site_from_row, site_values
from server.store.schema import (
    bans,
    comments,
    events,
    pages,
    sites,
)
from server.store.tx_admin import AdminQueries

c = comments.c
DUPLICATE_NETWORK_CHARS = 30


class SqlTx(AdminQueries):
    """Queries run inside one transaction on one connection."""

    def __init__(self, conn: AsyncConnection, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect

    # -- sites ---------------------------------------------------------------------------
    async def find_site(self, site_id: str) -> Site | None:
        row = (await self.conn.execute(select(sites).where(sites.c.id == site_id))).first()
        return site_from_row(row) if row else None

    async def list_sites(self) -> list[Site]:
        rows = await self.conn.execute(select(sites).order_by(sites.c.id))
        return [site_from_row(r) for r in rows]

    async def insert_site(self, site: Site) -> None:
        await self.conn.execute(insert(sites).values(**site_values(site)))

    async def update_site(self, site: Site) -> None:
        values = site_values(site)
        del values["id"], values["created_at"]
        await self.conn.execute(update(sites).where(sites.c.id == site.id).values(**values))

    # -- pages ---------------------------------------------------------------------------
    async def find_page(self, site_id: str, key: str) -> Page | None:
        q = select(pages).where(pages.c.site_id == site_id, pages.c.key == key)
        row = (await self.conn.execute(q)).first()
        return page_from_row(row) if row else None

    async def find_page_by_id(self, page_id: int) -> Page | None:
        row = (await self.conn.execute(select(pages).where(pages.c.id == page_id))).first()
        return page_from_row(row) if row else None

    async def ensure_page(self, site_id: str, key: str, url: str | None, title: str | None,
                          now: int) -> Page:
        found = await self.find_page(site_id, key)
        if found is not None:
            if (url and not found.url) or (title and not found.title):
                await self.conn.execute(update(pages).where(pages.c.id == found.id).values(
                    url=found.url or url, title=found.title or title))
                found = dataclasses.replace(found, url=found.url or url,
                                            title=found.title or title)
            return found
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        await self.conn.execute(
            dialect_insert(pages)
            .values(site_id=site_id, key=key, url=url, title=title, created_at=now)
            .on_conflict_do_nothing(index_elements=["site_id", "key"]))
        page = await self.find_page(site_id, key)
        assert page is not None
        return page

    async def advance_page(self, page_id: int, count_delta: int) -> Page:
        # The UPDATE takes the page's row lock until commit: concurrent writers to one page
        # queue here, which is what keeps seq gap-free and in commit order.
        q = (update(pages).where(pages.c.id == page_id)
             .values(seq=pages.c.seq + 1, comment_count=pages.c.comment_count + count_delta)
             .returning(*pages.c))
        return page_from_row((await self.conn.execute(q)).one())

    async def page_counts(self, site_id: str, keys: Sequence[str]) -> dict[str, int]:
        q = select(pages.c.key, pages.c.comment_count).where(
            pages.c.site_id == site_id, pages.c.key.in_(list(keys)))
        return {row.key: row.comment_count for row in await self.conn.execute(q)}

    async def page_seqs(self, page_ids: Sequence[int]) -> dict[int, int]:
        q = select(pages.c.id, pages.c.seq).where(pages.c.id.in_(list(page_ids)))
        return {row.id: row.seq for row in await self.conn.execute(q)}

    # -- comments ------------------------------------------------------------------------
    async def find_comment(self, comment_id: int, *, for_update: bool = False
                           ) -> Comment | None:
        q = select(comments).where(c.id == comment_id)
        if for_update and self.dialect == "postgresql":
            q = q.with_for_update()
        row = (await self.conn.execute(q)).first()
        return comment_from_row(row) if row else None

    async def find_comment_by_key(self, site_id: str, key: str) -> Comment | None:
        q = select(comments).where(c.site_id == site_id, c.idempotency_key == key)
        row = (await self.conn.execute(q)).first()
        return comment_from_row(row) if row else None

    async def insert_comment(self, new: NewComment) -> Comment:
        values = dataclasses.asdict(new)
        values["status"] = new.status.value
        row = (await self.conn.execute(insert(comments).values(**values).returning(*comments.c)
                                       )).one()
        return comment_from_row(row)

    async def update_comment(self, comment_id: int, **changes: Any) -> Comment:
        if isinstance(changes.get("status"), Status):
            changes["status"] = changes["status"].value
        q = update(comments).where(c.id == comment_id).values(**changes).returning(*comments.c)
        return comment_from_row((await self.conn.execute(q)).one())

    async def add_reply_count(self, comment_id: int, delta: int) -> None:
        await self.conn.execute(update(comments).where(c.id == comment_id)
                                .values(reply_count=c.reply_count + delta))

    async def author_checks(self, site_id: str, page_id: int, author_hash: str, ip_hash: str,
                            body: str, since: int, *, need_approved: bool
                            ) -> tuple[str | None, bool, bool]:
        ban = (select(bans.c.mode)
               .where(bans.c.site_id == site_id,
                      or_(bans.c.author_hash == author_hash, bans.c.ip_hash == ip_hash))
               .order_by(bans.c.mode.desc())  # "reject" sorts before "hold"
               .limit(1).scalar_subquery())
        # Another author on the same network may well say "Thanks!" too: the network only
        # counts for text long enough that a coincidence is unlikely.
        same = c.author_hash == author_hash
        if len(body) >= DUPLICATE_NETWORK_CHARS:
            same = or_(same, c.ip_hash == ip_hash)
        duplicate = exists().where(c.page_id == page_id, c.created_at >= since, c.body == body,
                                   same, c.status != Status.DELETED.value)
        approved = exists().where(c.site_id == site_id, c.author_hash == author_hash,
                                  c.status == Status.APPROVED.value) if need_approved \
            else literal(False)
        row = (await self.conn.execute(select(ban, duplicate, approved))).one()
        return row[0], bool(row[1]), bool(row[2])

    async def top_level(self, page_id: int, order: Order, after: Cursor | None,
                        limit: int) -> list[Comment]:
        visible = or_(c.status == Status.APPROVED.value,
                      and_(c.status == Status.DELETED.value, c.reply_count > 0))
        q = select(comments).where(c.page_id == page_id, c.parent_id.is_(None), visible)
        key = tuple_(c.created_at, c.id)
        if order is Order.NEWEST:
            q = q.order_by(c.created_at.desc(), c.id.desc())
            if after is not None:
                q = q.where(key < tuple_(after.created_at, after.id))
        else:
            q = q.order_by(c.created_at, c.id)
            if after is not None:
                q = q.where(key > tuple_(after.created_at, after.id))
        return [comment_from_row(r) for r in await self.conn.execute(q.limit(limit))]

    async def first_replies(self, page_id: int, parent_ids: Sequence[int], limit_each: int
                            ) -> dict[int, list[Comment]]:
        if not parent_ids:
            return {}
        rank = func.row_number().over(partition_by=c.parent_id,
                                      order_by=(c.created_at, c.id)).label("rank")
        ranked = select(comments, rank).where(
            c.page_id == page_id, c.parent_id.in_(list(parent_ids)),
            c.status == Status.APPROVED.value).subquery()
        q = select(ranked).where(ranked.c.rank <= limit_each).order_by(
            ranked.c.parent_id, ranked.c.created_at, ranked.c.id)
        grouped: dict[int, list[Comment]] = defaultdict(list)
        for row in await self.conn.execute(q):
            grouped[row.parent_id].append(comment_from_row(row))
        return grouped

    async def replies(self, parent: Comment, after: Cursor | None, limit: int) -> list[Comment]:
        q = select(comments).where(c.page_id == parent.page_id, c.parent_id == parent.id,
                                   c.status == Status.APPROVED.value)
        if after is not None:
            q = q.where(tuple_(c.created_at, c.id) > tuple_(after.created_at, after.id))
        q = q.order_by(c.created_at, c.id).limit(limit)
        return [comment_from_row(r) for r in await self.conn.execute(q)]

    # -- events --------------------------------------------------------------------------
    async def insert_event(self, event: Event, now: int) -> None:
        await self.conn.execute(insert(events).values(
            page_id=event.page_id, seq=event.seq, type=event.type,
            payload=orjson.dumps(event.data).decode(), created_at=now))

    async def events_after(self, page: Page, after: int, limit: int) -> list[Event]:
        q = (select(events.c.seq, events.c.type, events.c.payload)
             .where(events.c.page_id == page.id, events.c.seq > after)
             .order_by(events.c.seq).limit(limit))
        return [Event(page.site_id, page.id, page.key, row.seq, row.type,
                      orjson.loads(row.payload)) for row in await self.conn.execute(q)]
