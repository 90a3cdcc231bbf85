"""Reading a page's thread: cursor-paged comments with their first replies, counts, events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.core.comments import page_ref
from server.core.context import Services
from server.core.cursors import Cursor
from server.core.errors import Invalid, NotFound
from server.core.models import Comment, Event, Order, Page, Site, Status
from server.core.privacy import ip_hash
from server.core.text import clean_page_key

MAX_COUNT_PAGES = 100
MAX_EVENTS = 500
NEW_PAGES_PER_MINUTE = 60  # pages one network may bring into being by subscribing


def parse_order(value: str | None) -> Order:
    if value is None or value == "":
        return Order.NEWEST
    try:
        return Order(value)
    except ValueError:
        raise Invalid("invalid_order", "order must be 'newest' or 'oldest'") from None


def _cursor(value: str | None, order: Order) -> Cursor | None:
    if not value:
        return None
    cursor = Cursor.decode(value)
    if cursor.order is not order:
        raise Invalid("invalid_cursor", "cursor belongs to the other sort order")
    return cursor


def _next(items: list[Comment], limit: int, order: Order) -> tuple[list[Comment], str | None]:
    if len(items) <= limit:
        return items, None
    items = items[:limit]
    last = items[-1]
    return items, Cursor(last.created_at, last.id, order).encode()


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
    network = ip_hash(svc.secret, client_ip)
    await svc.check_rate(f"newpage:{site.id}:{network}", NEW_PAGES_PER_MINUTE, 60, "new pages")
    async with svc.store.write() as tx:
        return await tx.ensure_page(site.id, clean_page_key(page), None, None, svc.now_ms())


def _unseen(site: Site, key: str) -> Page:
    """A page nobody has subscribed to or commented on yet: empty, at seq 0."""
    return Page(id=0, site_id=site.id, key=key, url=None, title=None, seq=0, count=0)


async def list_thread(
    svc: Services,
    site: Site,
    page: object,
    *,
    order: Order = Order.NEWEST,
    cursor: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """One page of top-level comments, each with its first replies and a reply cursor;
    and whether the page exists (a listing of a page that does not is not worth caching)."""
    after = _cursor(cursor, order)
    limit = svc.limits.page_size
    each = svc.limits.reply_page_size
    key = clean_page_key(page)
    async with svc.store.read() as tx:
        # The page (its seq) is read before the comments: a comment newer than seq is then
        # only a duplicate the client drops by id, never a missed event.
        fresh = await tx.find_page(site.id, key)
        tops: list[Comment] = []
        next_cursor: str | None = None
        replies: dict[int, list[Comment]] = {}
        if fresh is not None:
            tops, next_cursor = _next(
                await tx.top_level(fresh.id, order, after, limit + 1), limit, order
            )
            replies = await tx.first_replies(fresh.id, [c.id for c in tops], each + 1)
    comments = []
    for top in tops:
        shown, reply_cursor = _next(replies.get(top.id, []), each, Order.OLDEST)
        item = top.public()
        item["replies"] = [r.public() for r in shown]
        item["replies_cursor"] = reply_cursor
        comments.append(item)
    return {
        "page": page_info(fresh or _unseen(site, key)),
        "comments": comments,
        "cursor": next_cursor,
        "has_more": next_cursor is not None,
        "config": {
            "edit_window": svc.limits.edit_window,
            "moderation": site.moderation.value,
            "sso": site.sso.policy.value,
            "reactions": list(site.reactions.choices),
        },
    }, fresh is not None


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
    after = _cursor(cursor, Order.OLDEST)
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
