"""Reading a page's thread: cursor-paged comments with their first replies, counts, events."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from server.core.comments import page_ref
from server.core.context import Services
from server.core.cursors import Cursor
from server.core.errors import Invalid, NotFound, RateLimited
from server.core.models import Comment, Event, Order, Page, ReactionSet, Site, Status
from server.core.pins import MAX_PINS
from server.core.ports import Tx
from server.core.privacy import ip_hash
from server.core.ranking import SETTLE_MS, best_key, best_score
from server.core.text import clean_page_key
from server.core.transactions.comments import CommentsTx
from server.core.transactions.ranking import RankingRow, RankingTx

MAX_COUNT_PAGES = 100
BEST_SETTLE_MS = SETTLE_MS
# A best cursor's snapshot must still be computable: removed reactions are kept a day.
BEST_CURSOR_MS = 20 * 3_600_000
AROUND_PAGES = 10  # a permalink lists at most this many pages from the start
MAX_EVENTS = 500
NEW_PAGES_PER_MINUTE = 60  # pages one network may bring into being by subscribing


def parse_order(value: str | None) -> Order:
    if value is None or value == "":
        return Order.NEWEST
    try:
        return Order(value)
    except ValueError:
        raise Invalid("invalid_order", "order must be 'newest', 'oldest' or 'best'") from None


def _cursor(value: str | None, order: Order, now: int) -> Cursor | None:
    if not value:
        return None
    cursor = Cursor.decode(value)
    if cursor.order is not order:
        raise Invalid("invalid_cursor", "cursor belongs to the other sort order")
    if cursor.at is not None and now - cursor.at > BEST_CURSOR_MS:
        # The reactions history it ranks from is kept a day: past that its ranking could
        # no longer be computed again exactly.
        raise Invalid("cursor_expired", "this listing is too old to page on: load it again")
    return cursor


def _next(items: list[Comment], limit: int, order: Order) -> tuple[list[Comment], str | None]:
    if len(items) <= limit:
        return items, None
    items = items[:limit]
    last = items[-1]
    return items, Cursor(last.created_at, last.id, order).encode()


class _Ranked:
    """A page's visible unpinned top-level comments in one order, as keys: under ``best``
    the ranking as of the moment ``at``. Cursors and permalinks find their place in it."""

    def __init__(
        self, rows: list[RankingRow], order: Order, reactions: ReactionSet, at: int | None
    ) -> None:
        self.order = order
        self.at = at
        self.scores: dict[int, float] = {}
        if order is Order.BEST:
            self.scores = {row.id: best_score(row.counts, reactions) for row in rows}
        self.rows = sorted(rows, key=self._key)
        self.keys = [self._key(row) for row in self.rows]

    def _key(self, row: RankingRow) -> tuple[float, int, int]:
        if self.order is Order.BEST:
            return best_key(self.scores[row.id], row.created_at, row.id)
        if self.order is Order.NEWEST:
            return (0.0, -row.created_at, -row.id)
        return (0.0, row.created_at, row.id)

    def after(self, cursor: Cursor) -> int:
        """The index of the first comment after the cursor's last one."""
        if self.order is Order.BEST:
            assert cursor.score is not None
            key = best_key(cursor.score, cursor.created_at, cursor.id)
        elif self.order is Order.NEWEST:
            key = (0.0, -cursor.created_at, -cursor.id)
        else:
            key = (0.0, cursor.created_at, cursor.id)
        return bisect_right(self.keys, key)

    def index(self, comment_id: int) -> int | None:
        return next((i for i, row in enumerate(self.rows) if row.id == comment_id), None)

    def cursor_after(self, end: int) -> str | None:
        """The cursor continuing after the first ``end`` comments (None: nothing follows)."""
        if end <= 0 or end >= len(self.rows):
            return None
        last = self.rows[end - 1]
        if self.order is Order.BEST:
            return Cursor(
                last.created_at, last.id, self.order, self.at, self.scores[last.id]
            ).encode()
        return Cursor(last.created_at, last.id, self.order).encode()


async def _ranked(tx: RankingTx, site: Site, page_id: int, order: Order, at: int | None) -> _Ranked:
    rows = await tx.ranking_rows(page_id, at if order is Order.BEST else None)
    return _Ranked(rows, order, site.reactions, at)


async def _comments(tx: CommentsTx, rows: list[RankingRow]) -> list[Comment]:
    found = await tx.find_comments([row.id for row in rows])
    return [found[row.id] for row in rows if row.id in found]


async def find_viewed_page(svc: Services, site: Site, page: object) -> Page | None:
    """The page a reader is looking at, if anyone ever commented or subscribed there.
    Viewing writes nothing: a page row, its URL and title come from readers who do more
    than look (who subscribe, who post), so anonymous GETs cannot fill the database."""
    key = clean_page_key(page)
    async with svc.store.read() as tx:
        return await tx.find_page(site.id, key)


async def page_for_subscriber(svc: Services, site: Site, page: object, client_ip: str) -> Page:
    """The page a live reader subscribes to, created if new: a socket needs the page's
    channel before its first comment. New pages are limited per network."""
    found = await find_viewed_page(svc, site, page)
    if found is not None:
        return found
    key = clean_page_key(page)
    limit = f"newpage:{site.id}:{ip_hash(svc.secret, client_ip)}"
    # A network already at its limit is refused before any write: its refused attempts
    # must not each take the database's write lock.
    if await svc.limiter.peek(limit) >= NEW_PAGES_PER_MINUTE:
        raise RateLimited("rate_limited", "too many new pages; try again in a minute", 60)
    async with svc.store.write() as tx:
        # Charged to the one subscribe that makes the page: a crowd arriving together at a
        # page nobody opened yet all found it missing above, and each used to take one of
        # its network's new pages (readers behind one address lost joins). The others
        # queue on the insert's unique key and make nothing; a refusal rolls it back.
        if await tx.insert_page(site.id, key, svc.now_ms()):
            await svc.check_rate(limit, NEW_PAGES_PER_MINUTE, 60, "new pages")
        made = await tx.find_page(site.id, key)
    if made is None:  # the page was removed between the insert and the read
        raise NotFound("page_not_found", "that page is gone")
    return made


def _unseen(site: Site, key: str) -> Page:
    """A page nobody has subscribed to or commented on yet: empty, at seq 0."""
    return Page(id=0, site_id=site.id, key=key, url=None, title=None, seq=0, count=0)


def _item(top: Comment, replies: list[Comment], each: int) -> dict[str, Any]:
    shown, reply_cursor = _next(replies, each, Order.OLDEST)
    item = top.public()
    item["replies"] = [r.public() for r in shown]
    item["replies_cursor"] = reply_cursor
    return item


def _listing(
    svc: Services, site: Site, page: Page, comments: list[dict[str, Any]], cursor: str | None
) -> dict[str, Any]:
    return {
        "page": page_info(page),
        "comments": comments,
        "cursor": cursor,
        "has_more": cursor is not None,
        "config": {
            "edit_window": svc.limits.edit_window,
            "moderation": site.moderation.value,
            "sso": site.sso.policy.value,
            "reactions": list(site.reactions.choices),
            "mail": svc.mail,
        },
    }


async def list_thread(
    svc: Services,
    site: Site,
    page: object,
    *,
    order: Order = Order.NEWEST,
    cursor: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """One page of top-level comments, each with its first replies and a reply cursor;
    and whether the page exists (a listing of a page that does not is not worth caching).

    The first page (no cursor) opens with the pinned comments, most recently pinned first,
    whatever the order; the ordered pages leave them out. Under ``best`` the listing ranks
    as of a snapshot moment: the first page's (now, less a margin for reactions still being
    written), which its cursor carries to every later page."""
    now = svc.now_ms()
    after = _cursor(cursor, order, now)
    limit = svc.limits.page_size
    each = svc.limits.reply_page_size
    key = clean_page_key(page)
    async with svc.store.read() as tx:
        # The page (its seq) is read before the comments: a comment newer than seq is then
        # only a duplicate the client drops by id, never a missed event.
        fresh = await tx.find_page(site.id, key)
        pinned: list[Comment] = []
        tops: list[Comment] = []
        next_cursor: str | None = None
        replies: dict[int, list[Comment]] = {}
        if fresh is not None:
            if after is None:
                pinned = await tx.pinned_comments(fresh.id, MAX_PINS)
            if order is Order.BEST:
                at = after.at if after is not None else now - BEST_SETTLE_MS
                ranked = await _ranked(tx, site, fresh.id, order, at)
                start = ranked.after(after) if after is not None else 0
                tops = await _comments(tx, ranked.rows[start : start + limit])
                next_cursor = ranked.cursor_after(start + limit)
            else:
                tops, next_cursor = _next(
                    await tx.top_level(fresh.id, order, after, limit + 1), limit, order
                )
            replies = await tx.first_replies(fresh.id, [c.id for c in pinned + tops], each + 1)
    comments = [_item(top, replies.get(top.id, []), each) for top in pinned + tops]
    return _listing(svc, site, fresh or _unseen(site, key), comments, next_cursor), (
        fresh is not None
    )


RANKED_PER_MINUTE = 60  # best pages after the first, and permalinks, per network


async def count_ranked_request(svc: Services, site: Site, client_ip: str) -> None:
    """Best pages after the first and permalinks rank the whole thread (the first page
    is cached; these are not): one network may ask for so many a minute."""
    network = ip_hash(svc.secret, client_ip)
    await svc.check_rate(f"ranked:{site.id}:{network}", RANKED_PER_MINUTE, 60, "thread pages")


def parse_around(value: str | None) -> int | None:
    if value is None:
        return None
    # ASCII digits only: str.isdigit() also takes superscripts and other scripts' digits.
    if not (value.isascii() and value.isdigit()) or len(value) > 18 or not 0 < int(value) < 2**62:
        raise Invalid("invalid_around", "around must be a comment id")
    return int(value)


async def list_around(
    svc: Services, site: Site, page: object, target_id: int, *, order: Order = Order.NEWEST
) -> dict[str, Any]:
    """A permalink's listing: from the start of the thread through the page holding the
    comment ``target_id`` (a reply: its parent's page, and the parent's replies from the
    first through the reply page holding it), as the reader would have seen it after
    loading more that many times. Beyond ``AROUND_PAGES`` pages, only the page holding it
    (``from_start`` false; for replies, ``replies_from_start`` false on the parent)."""
    now = svc.now_ms()
    limit = svc.limits.page_size
    each = svc.limits.reply_page_size
    key = clean_page_key(page)
    missing = NotFound("comment_not_found", "no such comment on this page")
    async with svc.store.read() as tx:
        fresh = await tx.find_page(site.id, key)
        target = await tx.find_comment(target_id)
        if (
            fresh is None
            or target is None
            or target.site_id != site.id
            or target.page_id != fresh.id
            or target.status is not Status.APPROVED
        ):
            raise missing
        top = target
        if target.parent_id is not None:
            parent = await tx.find_comment(target.parent_id)
            if parent is None:  # pragma: no cover -- the foreign key keeps it
                raise missing
            top = parent
        pinned = await tx.pinned_comments(fresh.id, MAX_PINS)
        at = now - BEST_SETTLE_MS if order is Order.BEST else None
        ranked = await _ranked(tx, site, fresh.id, order, at)
        if any(p.id == top.id for p in pinned):
            page_no = 0
        else:
            index = ranked.index(top.id)
            if index is None:
                raise missing
            page_no = index // limit
        from_start = page_no < AROUND_PAGES
        start = 0 if from_start else page_no * limit
        end = (page_no + 1) * limit
        tops = (pinned if from_start else []) + await _comments(tx, ranked.rows[start:end])
        next_cursor = ranked.cursor_after(end)
        replies = await tx.first_replies(fresh.id, [c.id for c in tops], each + 1)
        reply_run = (
            await _replies_through(tx, top, target, each, svc.limits.page_size)
            if target is not top
            else None
        )
    comments = []
    for comment in tops:
        if reply_run is not None and comment.id == top.id:
            item = comment.public()
            item["replies"] = [r.public() for r in reply_run[0]]
            item["replies_cursor"] = reply_run[1]
            item["replies_from_start"] = reply_run[2]
            comments.append(item)
        else:
            comments.append(_item(comment, replies.get(comment.id, []), each))
    listing = _listing(svc, site, fresh, comments, next_cursor)
    listing["target"] = target_id
    listing["from_start"] = from_start
    return listing


async def _replies_through(
    tx: Tx, top: Comment, reply: Comment, each: int, more: int
) -> tuple[list[Comment], str | None, bool] | None:
    """For a reply beyond the first ``each`` a listing shows: its parent's replies from the
    first through the reply page (``more`` a page, as list_replies pages) holding it, the
    cursor after them, and whether they start at the first (within ``AROUND_PAGES`` reply
    pages; beyond, only the reply page holding it). None for one of the first replies."""
    before = await tx.replies_before(top.id, reply.created_at, reply.id)
    if before < each:
        return None
    chunk = 1 + (before - each) // more
    end = each + chunk * more
    from_start = chunk < AROUND_PAGES
    skip = 0 if from_start else end - more
    # Only the replies shown (and one more, to know whether a cursor follows) are read.
    run = await tx.replies_window(top.id, skip, end - skip + 1)
    shown = run[: end - skip]
    last = shown[-1]
    more_after = len(run) > end - skip
    cursor = Cursor(last.created_at, last.id, Order.OLDEST).encode() if more_after else None
    return shown, cursor, from_start


def page_info(page: Page) -> dict[str, Any]:
    return {
        "key": page.key,
        "seq": page.seq,
        "count": page.count,
        "title": page.title,
        "url": page.url,
    }


async def list_replies(
    svc: Services, site: Site, comment_id: int, *, cursor: str | None = None
) -> dict[str, Any]:
    """The next replies of a top-level comment, oldest first."""
    after = _cursor(cursor, Order.OLDEST, svc.now_ms())
    limit = svc.limits.page_size
    async with svc.store.read() as tx:
        parent = await tx.find_comment(comment_id)
        if (
            parent is None
            or parent.site_id != site.id
            or parent.status not in (Status.APPROVED, Status.DELETED)
        ):
            raise NotFound("comment_not_found", "no such comment on this site")
        items, next_cursor = _next(await tx.replies(parent, after, limit + 1), limit, Order.OLDEST)
    return {
        "replies": [r.public() for r in items],
        "cursor": next_cursor,
        "has_more": next_cursor is not None,
    }


async def count_pages(svc: Services, site: Site, pages: Sequence[object]) -> dict[str, int]:
    """Approved-comment counts for up to 100 pages; unknown pages count 0."""
    if not pages:
        raise Invalid("invalid_pages", "name at least one page")
    if len(pages) > MAX_COUNT_PAGES:
        raise Invalid("too_many_pages", f"ask for at most {MAX_COUNT_PAGES} pages at once")
    keys = [page_ref(site, p, None, None)[0] for p in pages]
    async with svc.store.read() as tx:
        found = await tx.page_counts(site.id, keys)
    return {k: found.get(k, 0) for k in keys}


async def events_after(
    svc: Services, site: Site, page: object, after: int, limit: int = MAX_EVENTS
) -> tuple[Page, list[Event]]:
    """Durable events of a page with ``seq`` > ``after``, oldest first: the replay."""
    if after < 0:
        raise Invalid("invalid_after", "after must be a seq >= 0")
    key = clean_page_key(page)
    async with svc.store.read() as tx:
        found = await tx.find_page(site.id, key)
        if found is None:
            return _unseen(site, key), []
        events = await tx.events_after(found, after, min(limit, MAX_EVENTS))
    return found, events


FEED_SIZE = 50


async def newest_comments(
    svc: Services, site: Site, page: object | None
) -> tuple[Page | None, list[tuple[Comment, Page]]]:
    """The newest approved comments of the site, or of one page (which is never created
    here: a feed reader polling an unknown page gets an empty feed)."""
    if page is None:
        async with svc.store.read() as tx:
            return None, await tx.newest_approved(site.id, None, FEED_SIZE)
    key = page_ref(site, page, None, None)[0]
    async with svc.store.read() as tx:
        found = await tx.find_page(site.id, key)
        if found is None:
            return None, []
        return found, await tx.newest_approved(site.id, found.id, FEED_SIZE)
