"""A reader hears back: replies to their comments, moderators' decisions on their held ones,
and a summary of the reactions to theirs, kept 30 days (issue #18).

A reader is their author hash (``readers.author_hash_of``). Decisions and reactions write
notifications in their own transaction; a posted reply's are written by the fan-out
(``core.fanout``) from the event its post committed, so one never exists without its cause.
Nobody is told of their own action. Readers read them over HTTP; a comment that left public
view shows only its tombstone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from server.core.context import Services
from server.core.cursors import Cursor
from server.core.errors import Invalid, NotFound, Unauthorized
from server.core.models import Comment, Order, Site, Status, iso
from server.core.origins import origin_allowed, origin_of_url
from server.core.privacy import ip_hash
from server.core.readers import author_hash_of
from server.core.transactions.comments import CommentsTx
from server.core.transactions.fanout import Published
from server.core.transactions.notifications import NewNotification, NotificationsTx
from server.core.transactions.reactions import Totals

PAGE_SIZE = 20
KEEP_DAYS = 30
KEEP_MS = KEEP_DAYS * 86_400_000
READ_IDS_MAX = 100

REPLY = "reply"
MODERATOR_REPLY = "moderator_reply"
APPROVED = "approved"
REJECTED = "rejected"
REACTIONS = "reactions"
# A comment in these states was never shown, or was taken down: approving it publishes it.
NOT_YET_PUBLIC = (Status.PENDING, Status.REJECTED, Status.SPAM)
# Marking read and deleting, per network: a reader's real use is far below.
CHANGES_PER_MINUTE = 120


class ReplyNotifyingTx(NotificationsTx, CommentsTx, Protocol):
    """A reply tells the authors of the comments it answers."""


def answered_ids(reply: Published) -> list[int]:
    """The comments a reply answers: the one it hangs under, and the reply it quotes."""
    return list(dict.fromkeys(i for i in (reply.parent_id, reply.reply_to_id) if i is not None))


def reply_rows(
    reply: Published, authors: Mapping[int, str | None], now: int
) -> list[NewNotification]:
    """What ``reply`` (just public) tells: the author of the comment it hangs under and,
    when it answers a reply of a third author, that one too (once each, never its own
    author). ``authors``: who wrote those comments (of the reply's site), by id."""
    kind = MODERATOR_REPLY if reply.moderator else REPLY
    rows: list[NewNotification] = []
    told: set[str] = set()
    for comment_id in answered_ids(reply):
        recipient = authors.get(comment_id)
        if not recipient or recipient == reply.author_hash or recipient in told:
            continue
        told.add(recipient)
        rows.append(NewNotification(reply.site_id, recipient, kind, reply.id, reply.page_id, now))
    return rows


async def reply_published(tx: ReplyNotifyingTx, reply: Comment, now: int) -> list[str]:
    """``reply`` just became public: tell those it answers now. Returns the readers told.
    (The server's own path is the fan-out, many replies at once: ``core.fanout``.)"""
    answered = await tx.find_comments(answered_ids(reply))
    authors = {i: c.author_hash for i, c in answered.items() if c.site_id == reply.site_id}
    rows = reply_rows(reply, authors, now)
    await tx.add_notifications(rows)
    return [row.recipient for row in rows]


async def decided(tx: NotificationsTx, before: Comment, target: Status, now: int) -> list[str]:
    """A moderator decided a reader's comment: a held one approved or rejected (spam too), or
    a rejected one approved after all (which takes back the "not approved"). Returns the
    reader told, if any."""
    author = before.author_hash
    if not author:
        return []
    if target is Status.APPROVED and before.status in NOT_YET_PUBLIC:
        if before.status is not Status.PENDING:
            await tx.delete_notification_of_kind(before.site_id, author, REJECTED, before.id)
        kind = APPROVED
    elif target in (Status.REJECTED, Status.SPAM) and before.status is Status.PENDING:
        kind = REJECTED
    else:
        return []
    await tx.add_notification(before.site_id, author, kind, before.id, before.page_id, now)
    return [author]


async def withdrawn(tx: NotificationsTx, comment: Comment) -> list[str]:
    """Its author deleted a reply: those it answered are no longer told of it (a reply that
    is gone is no news, least of all unread). Returns the readers whose lists changed."""
    return await tx.withdraw_notifications(comment.id, (REPLY, MODERATOR_REPLY))


async def reactions_counted(
    tx: NotificationsTx, comment: Comment, totals: Totals, now: int, *, renew: bool
) -> list[str]:
    """The comment's reactions were counted again: its author's summary follows, with the
    readers reacting now; ``renew`` when someone reacted (unread again), not when a
    reaction was taken back. Returns the reader whose summary it is, if any."""
    if not comment.author_hash:
        return []
    await tx.summarise_reactions(
        comment.site_id,
        comment.author_hash,
        comment.id,
        comment.page_id,
        sum(count for _, count in totals),
        now,
        renew=renew,
    )
    return [comment.author_hash]


async def told_of(tx: CommentsTx, comments: Sequence[Comment]) -> list[str]:
    """The readers a reply among ``comments`` may have told (the authors of the comments
    each answers): whose notifications deleting those of ``comments`` may change."""
    answered = {i for c in comments for i in (c.parent_id, c.reply_to_id) if i is not None}
    if not answered:
        return []
    found = await tx.find_comments(sorted(answered))
    return sorted({c.author_hash for c in found.values() if c.author_hash})


def _no_token() -> Unauthorized:
    return Unauthorized(
        "invalid_token", "send your author token or session as 'Authorization: Bearer'"
    )


@dataclass(frozen=True, slots=True)
class Listing:
    notifications: list[dict[str, Any]]
    unread: int
    cursor: str | None
    has_more: bool

    def public(self) -> dict[str, Any]:
        return {
            "notifications": self.notifications,
            "unread": self.unread,
            "cursor": self.cursor,
            "has_more": self.has_more,
        }


async def list_notifications(
    svc: Services, site: Site, token: str | None, cursor: str | None
) -> Listing:
    """The reader's notifications, the latest changed first, ``PAGE_SIZE`` a page."""
    if token is None:
        raise _no_token()
    # The thread's keyset cursors, over (updated_at, id) newest first.
    position = Cursor.decode(cursor) if cursor else None
    if position is not None and position.order is not Order.NEWEST:
        raise Invalid("invalid_cursor", "cursor is not one this server issued")
    after = (position.created_at, position.id) if position is not None else None
    async with svc.store.read() as tx:
        reader = await author_hash_of(tx, svc.secret, site, token, svc.now_ms())
        rows = await tx.notifications_of(site.id, reader, after, PAGE_SIZE + 1)
        has_more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        found = await tx.find_comments(sorted({row.comment_id for row in rows}))
        pages = {}
        for page_id in {row.page_id for row in rows}:
            pages[page_id] = await tx.find_page_by_id(page_id)
        unread = await tx.unread_notifications(site.id, reader)
    shown: list[dict[str, Any]] = []
    for row in rows:
        comment, page = found.get(row.comment_id), pages.get(row.page_id)
        if comment is None or page is None:  # gone meanwhile (cascades delete the row)
            continue
        # Only what readers may see: a comment that left public view (a rejected one
        # included, even to its author) is its tombstone, never its text.
        visible = comment.status is Status.APPROVED
        shown.append(
            {
                "id": row.id,
                "kind": row.kind,
                "comment": (comment if visible else comment.tombstone()).public(),
                "page": {"key": page.key, "url": _on_site(site, page.url), "title": page.title},
                "actors": row.actors,
                "created_at": iso(row.created_at),
                "updated_at": iso(row.updated_at),
                "read": row.read_at is not None,
            }
        )
    last = rows[-1] if rows else None
    next_cursor = (
        Cursor(last.updated_at, last.id, Order.NEWEST).encode() if has_more and last else None
    )
    return Listing(shown, unread, next_cursor, has_more)


def _on_site(site: Site, url: str | None) -> str | None:
    """A page's address, if the site still lists its origin: a notification must not lead
    a reader to an origin the site has dropped (or that an import brought in)."""
    return url if url is not None and origin_allowed(origin_of_url(url), site.origins) else None


def _ids(value: object) -> list[int]:
    if (
        not isinstance(value, list)
        or len(value) > READ_IDS_MAX
        or not all(type(i) is int and 0 < i < 2**62 for i in value)
    ):
        raise Invalid(
            "invalid_ids", f"ids must be a list of at most {READ_IDS_MAX} notification ids"
        )
    return list(value)


async def mark_read(
    svc: Services, site: Site, token: str | None, data: dict[str, Any], *, client_ip: str
) -> int:
    """Mark some (``ids``) or ``all`` of the reader's notifications read; the unread left.
    Nothing unread: nothing is written and nobody is rung."""
    if token is None:
        raise _no_token()
    ids: Sequence[int] | None
    if data.get("all") is True:
        ids = None
    elif "ids" in data:
        ids = _ids(data["ids"])
    else:
        raise Invalid("invalid_ids", "send 'ids' (a list) or 'all': true")
    await _check_changes(svc, site, client_ip)
    async with svc.store.read() as tx:
        reader = await author_hash_of(tx, svc.secret, site, token, svc.now_ms())
        if not await tx.unread_notifications(site.id, reader):
            return 0
    async with svc.store.write() as tx:
        await tx.mark_notifications_read(site.id, reader, ids, svc.now_ms())
        unread = await tx.unread_notifications(site.id, reader)
    await svc.notifications_changed(site.id, [reader])  # the reader's other tabs follow
    return unread


async def delete_notification(
    svc: Services, site: Site, token: str | None, notification_id: int, *, client_ip: str
) -> None:
    """Delete one of the reader's notifications; another's answers as a missing one."""
    if token is None:
        raise _no_token()
    await _check_changes(svc, site, client_ip)
    async with svc.store.write() as tx:
        reader = await author_hash_of(tx, svc.secret, site, token, svc.now_ms())
        if not await tx.delete_notification(site.id, reader, notification_id):
            raise NotFound("notification_not_found", "no such notification")
    await svc.notifications_changed(site.id, [reader])


async def _check_changes(svc: Services, site: Site, client_ip: str) -> None:
    await svc.check_rate(
        f"notes:{site.id}:{ip_hash(svc.secret, client_ip)}",
        CHANGES_PER_MINUTE,
        60,
        "changes to notifications",
    )
