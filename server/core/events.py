"""Durable page events: what each change to a published comment records, and how a stored
event is shown again on replay.

The event table keeps a reference to the comment, never its text. A replay renders each
event from the comment as it is now, so text that left public view (erased, deleted,
rejected, held, redacted by an edit) leaves every replay in the same transaction that
removed it, while the page's ``seq`` stays gap-free."""

from __future__ import annotations

from server.core.models import Comment, Event, EventType, Page, Status
from server.core.transactions.combined import PublicChangeTx
from server.core.transactions.events import EventsTx

# Events after which earlier frames of the same comment show text readers may no longer
# see: in-memory replay buffers drop what they hold when one passes.
REDACTING = frozenset({EventType.EDITED.value, EventType.DELETED.value})


def comment_event(
    page: Page, kind: EventType, comment: Comment, event_id: int | None = None
) -> Event:
    """The event for ``comment`` at the page's current ``seq`` (a deletion shows a
    tombstone)."""
    shown = comment.tombstone() if kind is EventType.DELETED else comment
    return Event(
        page.site_id,
        page.id,
        page.key,
        page.seq,
        kind.value,
        {"comment": shown.public(), "count": page.count},
        comment_id=comment.id,
        event_id=event_id,
    )


def replayed(
    page: Page, seq: int, kind: str, count: int, comment_id: int | None, comment: Comment | None
) -> Event:
    """A stored event as readers may see it now: the comment's current public shape, or
    its tombstone when the event is a deletion or the comment is no longer published."""
    if comment is None:  # never expected: comments are not deleted while their page lives
        shown = {
            "id": comment_id,
            "parent": None,
            "reply_to": None,
            "name": None,
            "body": "",
            "status": Status.DELETED.value,
            "moderator": False,
            "created_at": None,
            "edited_at": None,
            "reply_count": 0,
        }
    elif kind == EventType.DELETED.value or comment.status is not Status.APPROVED:
        shown = comment.tombstone().public()
    else:
        shown = comment.public()
    return Event(
        page.site_id,
        page.id,
        page.key,
        seq,
        kind,
        {"comment": shown, "count": count},
        comment_id=comment_id,
    )


async def record(
    tx: EventsTx, page_id: int, count_delta: int, kind: EventType, comment: Comment, now: int
) -> Event:
    """Store the event for ``comment`` at its page's next ``seq`` in the current transaction;
    returns it to publish after commit. A store that numbers it now keeps the page locked
    until commit, so callers make this their last statement: every other change of that
    page waits for the lock."""
    appended = await tx.append_event(page_id, count_delta, kind.value, comment.id, now)
    return comment_event(appended.page, kind, comment, appended.event_id)


async def shown(tx: PublicChangeTx, comment: Comment, now: int) -> Event:
    """``comment`` joined public view (approved): the page counts it, its parent counts
    the reply, and readers get ``comment.approved``."""
    if comment.parent_id is not None:
        await tx.add_reply_count(comment.parent_id, +1)
    return await record(tx, comment.page_id, +1, EventType.APPROVED, comment, now)


async def hidden(tx: PublicChangeTx, comment: Comment, now: int) -> Event:
    """``comment`` left public view (deleted, erased, rejected, held): the counts drop and
    readers get ``comment.deleted`` with its tombstone. A pinned comment loses its pin: it
    is not pinned again should it come back."""
    if comment.pinned_at is not None:
        comment = await tx.update_comment(comment.id, pinned_at=None)
    if comment.parent_id is not None:
        await tx.add_reply_count(comment.parent_id, -1)
    return await record(tx, comment.page_id, -1, EventType.DELETED, comment, now)


async def edited(tx: PublicChangeTx, comment: Comment, now: int) -> Event:
    """A published comment's text changed: readers get ``comment.edited``."""
    return await record(tx, comment.page_id, 0, EventType.EDITED, comment, now)
