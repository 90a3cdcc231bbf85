"""A reader hears back: replies to their comments, moderators' decisions on their held ones,
and a summary of the reactions to theirs, kept 30 days (issue #18).

A reader is their author hash (``readers.author_hash_of``). Notifications are written in the
transaction of the change that causes them, so one never exists without its cause, and never
tell a reader of their own action. Readers read them over HTTP; a comment that left public
view shows only its tombstone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from server.core.context import Services
from server.core.cursors import Cursor
from server.core.errors import Invalid, NotFound, Unauthorized
from server.core.models import Comment, Order, Site, Status, iso
from server.core.readers import author_hash_of
from server.core.transactions.comments import CommentsTx
from server.core.transactions.notifications import NotificationsTx
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


class ReplyNotifyingTx(NotificationsTx, CommentsTx, Protocol):
    """A reply tells the authors of the comments it answers."""


async def reply_published(
    tx: ReplyNotifyingTx, reply: Comment, now: int, known: Sequence[Comment | None] = ()
) -> None:
    """``reply`` just became public: tell the author of the comment it hangs under and, when
    it answers a reply of a third author, that one too (once each, never its own author).
    ``known``: those comments when the caller has read them already (posting has), so they
    are not read again."""
    answered = [i for i in (reply.parent_id, reply.reply_to_id) if i is not None]
    if not answered:
        return
    kind = MODERATOR_REPLY if reply.moderator else REPLY
    read = {c.id: c for c in known if c is not None}
    told: set[str] = set()
    for comment_id in dict.fromkeys(answered):
        comment = read.get(comment_id) or await tx.find_comment(comment_id)
        if comment is None or comment.site_id != reply.site_id:
            continue
        recipient = comment.author_hash
        if not recipient or recipient == reply.author_hash or recipient in told:
            continue
        told.add(recipient)
        await tx.add_notification(reply.site_id, recipient, kind, reply.id, reply.page_id, now)


async def decided(tx: NotificationsTx, held: Comment, target: Status, now: int) -> None:
    """A moderator decided a reader's held comment: approved, or rejected (spam too)."""
    if held.status is not Status.PENDING or not held.author_hash:
        return
    if target is Status.APPROVED:
        kind = APPROVED
    elif target in (Status.REJECTED, Status.SPAM):
        kind = REJECTED
    else:
        return
    await tx.add_notification(held.site_id, held.author_hash, kind, held.id, held.page_id, now)


async def reactions_counted(
    tx: NotificationsTx, comment: Comment, totals: Totals, now: int, *, renew: bool
) -> None:
    """The comment's reactions were counted again: its author's summary follows, with the
    readers reacting now; ``renew`` when someone reacted (unread again), not when a
    reaction was taken back."""
    if comment.author_hash:
        await tx.summarise_reactions(
            comment.site_id,
            comment.author_hash,
            comment.id,
            comment.page_id,
            sum(count for _, count in totals),
            now,
            renew=renew,
        )


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
                "page": {"key": page.key, "url": page.url, "title": page.title},
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


async def mark_read(svc: Services, site: Site, token: str | None, data: dict[str, Any]) -> int:
    """Mark some (``ids``) or ``all`` of the reader's notifications read; the unread left."""
    if token is None:
        raise _no_token()
    ids: Sequence[int] | None
    if data.get("all") is True:
        ids = None
    elif "ids" in data:
        ids = _ids(data["ids"])
    else:
        raise Invalid("invalid_ids", "send 'ids' (a list) or 'all': true")
    async with svc.store.write() as tx:
        now = svc.now_ms()
        reader = await author_hash_of(tx, svc.secret, site, token, now)
        await tx.mark_notifications_read(site.id, reader, ids, now)
        return await tx.unread_notifications(site.id, reader)


async def delete_notification(
    svc: Services, site: Site, token: str | None, notification_id: int
) -> None:
    """Delete one of the reader's notifications; another's answers as a missing one."""
    if token is None:
        raise _no_token()
    async with svc.store.write() as tx:
        reader = await author_hash_of(tx, svc.secret, site, token, svc.now_ms())
        if not await tx.delete_notification(site.id, reader, notification_id):
            raise NotFound("notification_not_found", "no such notification")
