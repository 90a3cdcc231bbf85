"""A transaction's queries on comments: writing them, and reading threads back."""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update

from server.core.cursors import Cursor
from server.core.models import Comment, Order, Page, Status
from server.core.transactions.comments import CommentsTx, NewComment
from server.store import statements as st
from server.store.connection import Connection
from server.store.rows import comment_from_row
from server.store.schema import comments, pages

c = comments.c
DUPLICATE_NETWORK_CHARS = 30
_NEW_COMMENT_FIELDS = dataclasses.fields(NewComment)


def body_hash(body: str) -> str | None:
    """The duplicate check's key for a text (None for none: erased text leaves no trace)."""
    if not body:
        return None
    return hashlib.sha256(body.encode()).hexdigest()[:16]


class CommentQueries(CommentsTx):
    """Comments one by one, by author, and as the pages of a thread."""

    conn: Connection
    dialect: str

    async def find_comment(self, comment_id: int, *, for_update: bool = False) -> Comment | None:
        q = (
            st.FIND_COMMENT_FOR_UPDATE
            if for_update and self.dialect == "postgresql"
            else st.FIND_COMMENT
        )
        row = (await self.conn.execute(q, {"b_id": comment_id})).first()
        return comment_from_row(row) if row else None

    async def find_comments(self, ids: Sequence[int]) -> dict[int, Comment]:
        if not ids:
            return {}
        rows = await self.conn.execute(select(comments).where(comments.c.id.in_(list(ids))))
        return {r.id: comment_from_row(r) for r in rows}

    async def find_comment_by_key(self, site_id: str, key: str) -> Comment | None:
        q = select(comments).where(c.site_id == site_id, c.idempotency_key == key)
        row = (await self.conn.execute(q)).first()
        return comment_from_row(row) if row else None

    async def insert_comment(self, new: NewComment) -> Comment:
        # Not dataclasses.asdict: it deep-copies every field, a measurable share of a post.
        values = {f.name: getattr(new, f.name) for f in _NEW_COMMENT_FIELDS}
        values["status"] = new.status.value
        values["body_hash"] = body_hash(new.body)
        return comment_from_row((await self.conn.execute(st.INSERT_COMMENT, values)).one())

    async def update_comment(self, comment_id: int, **changes: Any) -> Comment:
        if isinstance(changes.get("status"), Status):
            changes["status"] = changes["status"].value
        if "body" in changes:
            changes["body_hash"] = body_hash(changes["body"])
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
                    "b_hash": body_hash(body),
                },
            )
        ).one()
        return row[0], bool(row[1]), bool(row[2])

    async def author_known(self, site_id: str, author_hash: str) -> bool:
        q = (
            select(comments.c.id)
            .where(comments.c.site_id == site_id, comments.c.author_hash == author_hash)
            .limit(1)
        )
        return (await self.conn.execute(q)).first() is not None

    async def author_comments(self, site_id: str, author_hash: str) -> list[tuple[Comment, str]]:
        q = (
            select(comments, pages.c.key.label("p_key"))
            .join(pages, pages.c.id == comments.c.page_id)
            .where(comments.c.site_id == site_id, comments.c.author_hash == author_hash)
            .order_by(comments.c.id)
        )
        return [(comment_from_row(r), r.p_key) for r in await self.conn.execute(q)]

    async def site_comments(self, site_id: str) -> list[Comment]:
        rows = await self.conn.execute(
            select(comments).where(comments.c.site_id == site_id).order_by(comments.c.id)
        )
        return [comment_from_row(r) for r in rows]

    async def top_level(
        self, page_id: int, order: Order, after: Cursor | None, limit: int
    ) -> list[Comment]:
        params: dict[str, Any] = {"b_page": page_id, "b_limit": limit}
        if after is not None:
            params.update(b_at=after.created_at, b_id=after.id)
        rows = await self.conn.execute(st.TOP_LEVEL[order, after is not None], params)
        return [comment_from_row(r) for r in rows]

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
