"""A transaction's queries for ranking a thread (``order=best`` as of a moment), its pinned
comments, and where a reply sits among its siblings (permalinks)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import BigInteger, bindparam, func, or_, select, tuple_

from server.core.models import Comment, Status
from server.core.transactions.ranking import RankingRow, RankingTx
from server.store import statements as st
from server.store.connection import Connection
from server.store.rows import comment_from_row
from server.store.schema import comments, reactions

c = comments.c
r = reactions.c

# Every visible unpinned top-level comment of a page: the set a ranking orders.
_KEYS = select(c.id, c.created_at).where(
    c.page_id == bindparam("b_page"), c.parent_id.is_(None), st.VISIBLE_TOP, c.pinned_at.is_(None)
)
# The page's reactions as they stood at a moment, counted per comment and kind, from the
# history the reactions table keeps (removed rows stay a day): the page's own index finds
# them. Replies' reactions are counted too and ignored: cheaper than joining to filter.
_AT = bindparam("b_at", type_=BigInteger)
_COUNTS_AT = (
    select(r.comment_id, r.kind, func.count().label("n"))
    .where(
        r.page_id == bindparam("b_page"),
        r.created_at <= _AT,
        or_(r.removed_at.is_(None), r.removed_at > _AT),
    )
    .group_by(r.comment_id, r.kind)
)
_COUNT_PINNED = select(func.count()).where(
    c.page_id == bindparam("b_page"),
    c.parent_id.is_(None),
    c.pinned_at.is_not(None),
    c.status == Status.APPROVED.value,
)
_REPLIES_BEFORE = select(func.count()).where(
    c.parent_id == bindparam("b_parent"),
    c.status == Status.APPROVED.value,
    tuple_(c.created_at, c.id) < tuple_(bindparam("b_created"), bindparam("b_id")),
)


_REPLIES_WINDOW = (
    select(comments)
    .where(c.parent_id == bindparam("b_parent"), c.status == Status.APPROVED.value)
    .order_by(c.created_at, c.id)
    .offset(bindparam("b_skip"))
    .limit(bindparam("b_limit"))
)


class RankingQueries(RankingTx):
    """A page's top-level comments as keys to rank, its pinned comments, reply positions."""

    conn: Connection

    async def ranking_rows(self, page_id: int, at: int | None) -> list[RankingRow]:
        keys = await self.conn.execute(_KEYS, {"b_page": page_id})
        counts: dict[int, dict[str, int]] = defaultdict(dict)
        if at is not None:
            for row in await self.conn.execute(_COUNTS_AT, {"b_page": page_id, "b_at": at}):
                counts[row.comment_id][row.kind] = int(row.n)
        return [RankingRow(row.id, row.created_at, counts.get(row.id, {})) for row in keys]

    async def pinned_comments(self, page_id: int, limit: int) -> list[Comment]:
        rows = await self.conn.execute(st.PINNED, {"b_page": page_id, "b_limit": limit})
        return [comment_from_row(row) for row in rows]

    async def count_pinned(self, page_id: int) -> int:
        return int((await self.conn.execute(_COUNT_PINNED, {"b_page": page_id})).scalar_one())

    async def replies_before(self, parent_id: int, created_at: int, comment_id: int) -> int:
        found = await self.conn.execute(
            _REPLIES_BEFORE, {"b_parent": parent_id, "b_created": created_at, "b_id": comment_id}
        )
        return int(found.scalar_one())

    async def replies_window(self, parent_id: int, skip: int, limit: int) -> list[Comment]:
        rows = await self.conn.execute(
            _REPLIES_WINDOW, {"b_parent": parent_id, "b_skip": skip, "b_limit": limit}
        )
        return [comment_from_row(row) for row in rows]
