"""Moderator decisions on a comment: approve, reject, spam, delete, restore. One winner per
item.

A moderator's Delete takes the comment from readers at once but keeps its text, hidden, for
``RESTORE_DAYS``: a mistaken deletion can be restored, and then it returns to the status it
had (published again with a durable event if it was published). After that the hourly
clean-up blanks the text and name like an author's deletion (``erasure.forget_old_data``).
Deletions by the author and erasure blank at once: nothing of theirs is kept to restore."""

from __future__ import annotations

import hmac
from dataclasses import replace
from enum import StrEnum

from server.core import notifications, subscriptions
from server.core.authority import require_moderator
from server.core.context import Services
from server.core.errors import Conflict, NotFound
from server.core.events import edited, hidden, shown
from server.core.models import (
    AuditEntry,
    Comment,
    Event,
    EventType,
    Moderator,
    Site,
    Status,
)
from server.core.queue_changes import queue_change
from server.core.transactions.combined import DecisionHistoryTx, PublicChangeTx


class Action(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    SPAM = "spam"
    DELETE = "delete"
    RESTORE = "restore"


TARGET = {
    Action.APPROVE: Status.APPROVED,
    Action.REJECT: Status.REJECTED,
    Action.SPAM: Status.SPAM,
    Action.DELETE: Status.DELETED,
}
RESTORE_DAYS = 30
RESTORE_MS = RESTORE_DAYS * 86_400_000


class AlreadyHandled(Conflict):
    """The comment is no longer what the moderator saw: ``by`` (another moderator's label,
    from the audit log) changed it to ``status`` first; None when no moderator did."""

    def __init__(self, status: Status, by: str | None) -> None:
        super().__init__(
            "already_handled",
            f"{by} already changed this comment to {status.value}; reload to see it"
            if by
            else f"this comment was changed to {status.value} meanwhile; reload to see it",
        )
        self.status = status
        self.by = by


async def decide_comment(
    svc: Services,
    site: Site,
    comment_id: int,
    action: Action,
    *,
    moderator: Moderator | None,
    expected: Status | None = None,
    version: str | None = None,
    detail: str | None = None,
) -> Comment:
    """Apply one decision. ``expected`` is the status the moderator saw: if another
    moderator changed it meanwhile, this answers 409 instead of deciding twice. ``version``
    names the text they saw: if it was edited since (bait and switch), 409 as well.
    ``moderator`` None is the operator (CLI, imports); a moderator must moderate ``site``."""
    if moderator is not None:
        require_moderator(moderator, site.id)
    events: list[Event] = []
    now = svc.now_ms()
    async with svc.store.write() as tx:
        before = await tx.find_comment(comment_id, for_update=True)
        if before is None or before.site_id != site.id:
            raise NotFound("comment_not_found", "no such comment on this site")
        if action is Action.RESTORE:
            target = await _check_restore(tx, before, expected, now)
        else:
            target = TARGET[action]
            await _check_transition(tx, before, target, expected)
        if version is not None and not hmac.compare_digest(version, before.version):
            raise Conflict(
                "comment_changed",
                "this comment was edited after you loaded it; review the new text",
            )
        updated = await tx.update_comment(before.id, **_changes(before, target, now))
        if target is Status.APPROVED and before.flags:
            await tx.clear_flags(before.id)  # reviewed: readers' flags are answered
            updated = replace(updated, flags=0)
        event = await _public_change(tx, before, updated, now)
        if event is not None:
            events.append(event)
        told = await notifications.decided(tx, before, target, now) if svc.notifications else []
        if (
            svc.notifications
            and target is Status.APPROVED
            and before.status in notifications.NOT_YET_PUBLIC
        ):
            # A held (or rejected, then approved) reply reaches those it answers only now.
            told += await notifications.reply_published(tx, updated, now)
            await subscriptions.comment_published(tx, updated, now, svc.limits.mail_digest_ms)
        await tx.insert_audit(
            AuditEntry(
                site_id=site.id,
                moderator_id=moderator.id if moderator else None,
                action=action.value,
                comment_id=before.id,
                before_status=before.status.value,
                after_status=target.value,
                detail=detail,
                created_at=now,
            )
        )
        page = await tx.find_page_by_id(before.page_id)
        by = moderator.label if moderator else None
        queued = (
            None
            if page is None
            else await queue_change(tx, site.id, updated, page, before.status, by)
        )
    await svc.publish(events)
    await svc.notifications_changed(site.id, told)
    if queued is not None:
        await svc.queue_changed(queued)
    if (
        target in (Status.REJECTED, Status.SPAM)
        and before.status is Status.PENDING
        and before.author_hash
    ):
        await _tell_author(svc, updated)
    return updated


def _changes(before: Comment, target: Status, now: int) -> dict[str, object]:
    if target is Status.DELETED:  # hidden from readers, kept to be restored
        return {"status": target, "deleted_at": now, "deleted_from": before.status.value}
    changes: dict[str, object] = {"status": target}
    if before.status is Status.DELETED:  # restored
        changes.update(deleted_at=None, deleted_from=None)
    if target is Status.APPROVED:  # the reason it was held is answered; it would mislead
        changes["held_reason"] = None
    return changes


async def _check_restore(
    tx: DecisionHistoryTx, before: Comment, expected: Status | None, now: int
) -> Status:
    """The status a deleted comment returns to, if a moderator deleted it recently enough
    for its text to be there still."""
    if before.status is not Status.DELETED or (
        expected is not None and before.status is not expected
    ):
        raise AlreadyHandled(before.status, await changed_by(tx, before))
    if (
        before.deleted_at is None
        or before.deleted_from is None
        or now - before.deleted_at > RESTORE_MS
    ):
        raise Conflict(
            "not_restorable",
            f"only comments a moderator deleted in the last {RESTORE_DAYS} days "
            "can be restored; this one's text is gone",
        )
    return before.deleted_from


async def _check_transition(
    tx: DecisionHistoryTx, before: Comment, target: Status, expected: Status | None
) -> None:
    # Approving a published comment that readers flagged dismisses the flags.
    repeated = before.status is target and not (target is Status.APPROVED and before.flags)
    if (expected is not None and before.status is not expected) or repeated:
        raise AlreadyHandled(before.status, await changed_by(tx, before))
    if before.status is Status.DELETED:
        raise Conflict("comment_deleted", "this comment was deleted")


async def changed_by(tx: DecisionHistoryTx, comment: Comment) -> str | None:
    """The moderator whose decision put the comment in its current status, as other
    moderators know them; None if its last change was not a moderator's (an author's edit
    or deletion) or their account is gone."""
    last = await tx.latest_audit(comment.id)
    if last is None or last.moderator_id is None or last.after_status != comment.status.value:
        return None
    moderator = await tx.find_moderator_by_id(last.moderator_id)
    return moderator.label if moderator else None


async def _public_change(
    tx: PublicChangeTx, before: Comment, after: Comment, now: int
) -> Event | None:
    """The durable event when a decision changes what readers see, else None."""
    was, now_public = before.status is Status.APPROVED, after.status is Status.APPROVED
    if was == now_public:
        return None
    if now_public and before.parent_id is not None:
        parent = await tx.find_comment(before.parent_id)
        if parent is None or parent.status is not Status.APPROVED:
            raise Conflict(
                "parent_hidden", "approve the comment this replies to first (or restore it)"
            )
    return await (shown if now_public else hidden)(tx, after, now)


async def _tell_author(svc: Services, comment: Comment) -> None:
    assert comment.author_hash is not None
    async with svc.store.read() as tx:
        page = await tx.find_page_by_id(comment.page_id)
    if page is None:
        return
    event = Event(
        page.site_id,
        page.id,
        page.key,
        0,
        EventType.REJECTED.value,
        {"comment": {"id": comment.id, "status": Status.REJECTED.value}},
    )
    try:
        await svc.publisher.notify_author(page.site_id, comment.author_hash, event)
    except Exception:  # noqa: BLE001 -- a notification, never worth failing a decision
        return


async def moderator_edit(
    svc: Services, site: Site, comment_id: int, body: object, *, moderator: Moderator
) -> Comment:
    """A moderator corrects any comment of their sites; readers see it live, marked
    `(Edited)`."""
    from server.core.text import clean_body

    require_moderator(moderator, site.id)
    text = clean_body(body)
    events: list[Event] = []
    async with svc.store.write() as tx:
        before = await tx.find_comment(comment_id, for_update=True)
        if before is None or before.site_id != site.id:
            raise NotFound("comment_not_found", "no such comment on this site")
        if before.status is Status.DELETED:
            raise Conflict("comment_deleted", "this comment was deleted")
        now = svc.now_ms()
        updated = await tx.update_comment(before.id, body=text, edited_at=now)
        if before.status is Status.APPROVED:
            events.append(await edited(tx, updated, now))
        await tx.insert_audit(
            AuditEntry(
                site_id=site.id,
                moderator_id=moderator.id,
                action="edit",
                comment_id=before.id,
                before_status=before.status.value,
                after_status=before.status.value,
                detail=f"{len(before.body)} -> {len(text)} characters",
                created_at=now,
            )
        )
        page = await tx.find_page_by_id(before.page_id)
        queued = (
            None
            if page is None
            else await queue_change(tx, site.id, updated, page, before.status, moderator.label)
        )
    await svc.publish(events)
    if queued is not None:  # other moderators review the corrected text, not the old one
        await svc.queue_changed(queued)
    return updated
