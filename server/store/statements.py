"""The hot path's statements, built once with bound parameters.

Building a SQLAlchemy statement and computing its cache key costs more CPU than SQLite takes
to run it; a statement object built at import keeps its memoized cache key, so each execution
only binds values. Parameter names carry a ``b_`` prefix because UPDATE reserves the column
names for its SET clause."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from server.core.models import Order, Status
from server.store.schema import bans, comments, events, pages

c = comments.c
APPROVED, DELETED = Status.APPROVED.value, Status.DELETED.value
LIMIT = bindparam("b_limit", type_=Integer)

FIND_PAGE = select(pages).where(
    pages.c.site_id == bindparam("b_site"), pages.c.key == bindparam("b_key")
)
FIND_PAGE_BY_ID = select(pages).where(pages.c.id == bindparam("b_id"))
INSERT_PAGE = {
    dialect: module.insert(pages).on_conflict_do_nothing(index_elements=["site_id", "key"])
    for dialect, module in (("postgresql", postgresql), ("sqlite", sqlite))
}
# The UPDATE takes the page's row lock until commit: concurrent writers to one page queue
# here, which is what keeps seq gap-free and in commit order.
ADVANCE_PAGE = (
    update(pages)
    .where(pages.c.id == bindparam("b_id"))
    .values(seq=pages.c.seq + 1, comment_count=pages.c.comment_count + bindparam("b_delta"))
    .returning(*pages.c)
)

FIND_COMMENT = select(comments).where(c.id == bindparam("b_id"))
FIND_COMMENT_FOR_UPDATE = FIND_COMMENT.with_for_update()
INSERT_COMMENT = insert(comments).returning(*comments.c)
ADD_REPLY_COUNT = (
    update(comments)
    .where(c.id == bindparam("b_id"))
    .values(reply_count=c.reply_count + bindparam("b_delta"))
)
INSERT_EVENT = insert(events).returning(events.c.id)
# FOR NO KEY UPDATE, as the seq UPDATE takes: posts' foreign-key checks on the page still pass.
LOCK_PAGE = (
    select(pages.c.id).where(pages.c.id == bindparam("b_id")).with_for_update(key_share=True)
)
# PostgreSQL: the event stored unnumbered (its seq the negated id, unique, until commit)
# and its page as it is, read without a lock. The trigger of migration 0015 numbers it at
# COMMIT: the page's row lock (which keeps seq gap-free and in commit order) is then held
# for the commit alone. Taken by a statement, it was held across the round trips to COMMIT
# and every post's wait in the server's event loop: a hot page's posts queued on it.
STORE_UNNUMBERED_EVENT = text(
    """
    WITH taken AS (SELECT nextval(pg_get_serial_sequence('events', 'id')) AS id),
    stored AS (
        INSERT INTO events (id, page_id, seq, type, comment_id, comment_count, created_at)
        SELECT taken.id, :b_page, -taken.id, :b_type, :b_comment, :b_delta, :b_now
        FROM taken
        RETURNING id, page_id
    )
    SELECT stored.id AS event_id, pages.id, pages.site_id, pages.key, pages.url,
        pages.title, pages.seq, pages.comment_count
    FROM stored JOIN pages ON pages.id = stored.page_id
    """
).bindparams(
    bindparam("b_page", type_=BigInteger),
    bindparam("b_type", type_=String),
    bindparam("b_comment", type_=BigInteger),
    bindparam("b_delta", type_=Integer),
    bindparam("b_now", type_=BigInteger),
)
EVENT_POSITIONS = select(events.c.id, events.c.seq, events.c.comment_count).where(
    events.c.id.in_(bindparam("b_ids", expanding=True)), events.c.seq > 0
)
EVENTS_AFTER = (
    select(events.c.seq, events.c.type, events.c.comment_count, events.c.comment_id, comments)
    .select_from(events.outerjoin(comments, c.id == events.c.comment_id))
    .where(events.c.page_id == bindparam("b_page"), events.c.seq > bindparam("b_after"))
    .order_by(events.c.seq)
    .limit(LIMIT)
)


def _author_checks(network: bool, need_approved: bool) -> Select[tuple[str | None, bool, bool]]:
    """Ban mode, duplicate, approved-before: one round trip for everything a post checks."""
    ban = (
        select(bans.c.mode)
        .where(
            bans.c.site_id == bindparam("b_site"),
            or_(bans.c.author_hash == bindparam("b_author"), bans.c.ip_hash == bindparam("b_ip")),
        )
        .order_by(bans.c.mode.desc())  # "reject" sorts before "hold"
        .limit(1)
        .scalar_subquery()
    )

    def recent(by: ColumnElement[bool]) -> ColumnElement[bool]:
        # Found by the page and the text's hash (one index lookup, whatever the network
        # posted before); the text itself is compared too, should two texts share a hash.
        return exists().where(
            c.page_id == bindparam("b_page"),
            c.body_hash == bindparam("b_hash"),
            c.body == bindparam("b_body"),
            c.site_id == bindparam("b_site"),
            by,
            c.created_at >= bindparam("b_since"),
            c.status != DELETED,
        )

    duplicate = recent(c.author_hash + "" == bindparam("b_author"))
    if network:
        # ``+ ""``: not by the network's index, which SQLite's planner prefers (three
        # equalities) and which reads every comment the network posted in the window.
        duplicate = or_(duplicate, recent(c.ip_hash + "" == bindparam("b_ip")))
    approved: ColumnElement[bool] = (
        exists().where(
            c.site_id == bindparam("b_site"),
            c.author_hash == bindparam("b_author"),
            c.status == APPROVED,
        )
        if need_approved
        else literal(False)
    )
    return select(ban, duplicate, approved)


# Keyed by (the network counts too, the author must have been approved before).
AUTHOR_CHECKS = {(n, a): _author_checks(n, a) for n in (False, True) for a in (False, True)}


# A top-level comment readers see: published, or deleted but kept as a tombstone above
# its replies.
VISIBLE_TOP = or_(c.status == APPROVED, and_(c.status == DELETED, c.reply_count > 0))


def _top_level(order: Order, paged: bool) -> Select[tuple[object, ...]]:
    # Pinned comments open the first page (PINNED): the ordered pages leave them out.
    q = select(comments).where(
        c.page_id == bindparam("b_page"), c.parent_id.is_(None), VISIBLE_TOP, c.pinned_at.is_(None)
    )
    key, after = tuple_(c.created_at, c.id), tuple_(bindparam("b_at"), bindparam("b_id"))
    if order is Order.NEWEST:
        q = q.order_by(c.created_at.desc(), c.id.desc())
        if paged:
            q = q.where(key < after)
    else:
        q = q.order_by(c.created_at, c.id)
        if paged:
            q = q.where(key > after)
    return q.limit(LIMIT)


# Keyed by (order, a cursor was given); best is ranked in Python (server/core/ranking.py).
TOP_LEVEL = {(o, p): _top_level(o, p) for o in (Order.NEWEST, Order.OLDEST) for p in (False, True)}
PINNED = (
    select(comments)
    .where(
        c.page_id == bindparam("b_page"),
        c.parent_id.is_(None),
        c.pinned_at.is_not(None),
        c.status == APPROVED,
    )
    .order_by(c.pinned_at.desc(), c.id.desc())
    .limit(LIMIT)
)


def _first_replies() -> Select[tuple[object, ...]]:
    rank = (
        func.row_number()
        .over(partition_by=c.parent_id, order_by=(c.created_at, c.id))
        .label("rank")
    )
    ranked = (
        select(comments, rank)
        .where(
            c.page_id == bindparam("b_page"),
            c.parent_id.in_(bindparam("b_parents", expanding=True)),
            c.status == APPROVED,
        )
        .subquery()
    )
    return (
        select(ranked)
        .where(ranked.c.rank <= LIMIT)
        .order_by(ranked.c.parent_id, ranked.c.created_at, ranked.c.id)
    )


FIRST_REPLIES = _first_replies()


def _replies(paged: bool) -> Select[tuple[object, ...]]:
    q = select(comments).where(
        c.page_id == bindparam("b_page"), c.parent_id == bindparam("b_parent"), c.status == APPROVED
    )
    if paged:
        q = q.where(tuple_(c.created_at, c.id) > tuple_(bindparam("b_at"), bindparam("b_id")))
    return q.order_by(c.created_at, c.id).limit(LIMIT)


REPLIES = {p: _replies(p) for p in (False, True)}
