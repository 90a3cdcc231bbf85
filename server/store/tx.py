"""One transaction's queries: the store's implementation of ``core.ports.Tx``."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from server.core.cursors import Cursor
from server.core.events import replayed
from server.core.models import (
    Comment,
    Event,
    Order,
    Page,
    Site,
    Status,
)
from server.core.ports import NewComment
from server.store import statements as st
from server.store.conn import Conn
from server.store.rows import comment_from_row, page_from_row, site_from_row, site_values
from server.store.schema import (
    comments,
    moderator_sites,
    pages,
    sites,
)
from server.store.tx_admin import AdminQueries
from server.store.tx_import import ImportQueries

c = comments.c
DUPLICATE_NETWORK_CHARS = 30
_NEW_COMMENT_FIELDS = dataclasses.fields(NewComment)


class SqlTx(AdminQueries, ImportQueries):
    """Queries run inside one transaction on one connection."""

    def __init__(self, conn: Conn, dialect: str) -> None:
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

    async def site_counts(self, site_id: str) -> tuple[int, int, int]:
        counts = []
        for table in (pages, comments, moderator_sites):
            q = select(func.count()).select_from(table).where(table.c.site_id == site_id)
            counts.append(int((await self.conn.execute(q)).scalar_one()))
        return counts[0], counts[1], counts[2]

    async def delete_site(self, site_id: str) -> None:
        # Every table that names a site, a page or a comment does so with ON DELETE CASCADE
        # (schema.py; SQLite enforces it with PRAGMA foreign_keys=ON).
        await self.conn.execute(delete(sites).where(sites.c.id == site_id))

    # -- pages ---------------------------------------------------------------------------
    async def find_page(self, site_id: str, key: str) -> Page | None:
        row = (await self.conn.execute(st.FIND_PAGE, {"b_site": site_id, "b_key": key})).first()
        return page_from_row(row) if row else None

    async def find_page_by_id(self, page_id: int) -> Page | None:
        row = (await self.conn.execute(st.FIND_PAGE_BY_ID, {"b_id": page_id})).first()
        return page_from_row(row) if row else None

    async def ensure_page(
        self, site_id: str, key: str, url: str | None, title: str | None, now: int
    ) -> Page:
        found = await self.find_page(site_id, key)
        if found is not None:
            if (url and not found.url) or (title and not found.title):
                await self.conn.execute(
                    update(pages)
                    .where(pages.c.id == found.id)
                    .values(url=found.url or url, title=found.title or title)
                )
                found = dataclasses.replace(found, url=found.url or url, title=found.title or title)
            return found
        await self.conn.execute(
            st.INSERT_PAGE[self.dialect],
            {"site_id": site_id, "key": key, "url": url, "title": title, "created_at": now},
        )
        page = await self.find_page(site_id, key)
        assert page is not None
        return page

    async def advance_page(self, page_id: int, count_delta: int) -> Page:
        rows = await self.conn.execute(st.ADVANCE_PAGE, {"b_id": page_id, "b_delta": count_delta})
        return page_from_row(rows.one())

    async def page_counts(self, site_id: str, keys: Sequence[str]) -> dict[str, int]:
        q = select(pages.c.key, pages.c.comment_count).where(
            pages.c.site_id == site_id, pages.c.key.in_(list(keys))
        )
        return {row.key: row.comment_count for row in await self.conn.execute(q)}

    async def page_seqs(self, page_ids: Sequence[int]) -> dict[int, int]:
        q = select(pages.c.id, pages.c.seq).where(pages.c.id.in_(list(page_ids)))
        return {row.id: row.seq for row in await self.conn.execute(q)}

    # -- comments ------------------------------------------------------------------------
    async def find_comment(self, comment_id: int, *, for_update: bool = False) -> Comment | None:
        q = (
            st.FIND_COMMENT_FOR_UPDATE
            if for_update and self.dialect == "postgresql"
            else st.FIND_COMMENT
        )
        row = (await self.conn.execute(q, {"b_id": comment_id})).first()
        return comment_from_row(row) if row else None

    async def find_comment_by_key(self, site_id: str, key: str) -> Comment | None:
        q = select(comments).where(c.site_id == site_id, c.idempotency_key == key)
        row = (await self.conn.execute(q)).first()
        return comment_from_row(row) if row else None

    async def insert_comment(self, new: NewComment) -> Comment:
        # Not dataclasses.asdict: it deep-copies every field, a measurable share of a post.
        values = {f.name: getattr(new, f.name) for f in _NEW_COMMENT_FIELDS}
        values["status"] = new.status.value
        return comment_from_row((await self.conn.execute(st.INSERT_COMMENT, values)).one())

    async def update_comment(self, comment_id: int, **changes: Any) -> Comment:
        if isinstance(changes.get("status"), Status):
            changes["status"] = changes["status"].value
        q = update(comments).where(c.id == comment_id).values(**changes).returning(*comments.c)
        return comment_from_row((await self.conn.execute(q)).one())

    async def add_reply_count(self, comment_id: int, delta: int) -> None:
        await self.conn.execute(st.ADD_REPLY_COUNT, {"b_id": comment_id, "b_delta": delta})

    async def author_checks(
        self,
        site_id: str,
        page_id: int,
        author_hash: str,
        ip_hash: str,
        body: str,
        since: int,
        *,
        need_approved: bool,
    ) -> tuple[str | None, bool, bool]:
        # Another author on the same network may well say "Thanks!" too: the network only
        # counts for text long enough that a coincidence is unlikely.
        q = st.AUTHOR_CHECKS[len(body) >= DUPLICATE_NETWORK_CHARS, need_approved]
        row = (
            await self.conn.execute(
                q,
                {
                    "b_site": site_id,
                    "b_author": author_hash,
                    "b_ip": ip_hash,
                    "b_page": page_id,
                    "b_since": since,
                    "b_body": body,
                },
            )
        ).one()
        return row[0], bool(row[1]), bool(row[2])

    async def top_level(
        self, page_id: int, order: Order, after: Cursor | None, limit: int
    ) -> list[Comment]:
        params: dict[str, Any] = {"b_page": page_id, "b_limit": limit}
        if after is not None:
            params.update(b_at=after.created_at, b_id=after.id)
        rows = await self.conn.execute(st.TOP_LEVEL[order, after is not None], params)
        return [comment_from_row(r) for r in rows]

    async def newest_approved(
        self, site_id: str, page_id: int | None, limit: int
    ) -> list[tuple[Comment, Page]]:
        q = (
            select(
                comments,
                pages.c.key.label("page_key"),
                pages.c.url.label("page_url"),
                pages.c.title.label("page_title"),
                pages.c.seq.label("page_seq"),
                pages.c.comment_count.label("page_count"),
            )
            .join(pages, pages.c.id == c.page_id)
            .where(c.site_id == site_id, c.status == Status.APPROVED.value)
            .order_by(c.created_at.desc(), c.id.desc())
            .limit(limit)
        )
        if page_id is not None:
            q = q.where(c.page_id == page_id)
        return [
            (
                comment_from_row(r),
                Page(
                    r.page_id,
                    r.site_id,
                    r.page_key,
                    r.page_url,
                    r.page_title,
                    r.page_seq,
                    r.page_count,
                ),
            )
            for r in await self.conn.execute(q)
        ]

    async def first_replies(
        self, page_id: int, parent_ids: Sequence[int], limit_each: int
    ) -> dict[int, list[Comment]]:
        if not parent_ids:
            return {}
        grouped: dict[int, list[Comment]] = defaultdict(list)
        for row in await self.conn.execute(
            st.FIRST_REPLIES,
            {"b_page": page_id, "b_parents": list(parent_ids), "b_limit": limit_each},
        ):
            grouped[row.parent_id].append(comment_from_row(row))
        return grouped

    async def replies(self, parent: Comment, after: Cursor | None, limit: int) -> list[Comment]:
        params: dict[str, Any] = {"b_page": parent.page_id, "b_parent": parent.id, "b_limit": limit}
        if after is not None:
            params.update(b_at=after.created_at, b_id=after.id)
        rows = await self.conn.execute(st.REPLIES[after is not None], params)
        return [comment_from_row(r) for r in rows]

    # -- events --------------------------------------------------------------------------
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
