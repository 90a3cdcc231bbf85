"""Moderator decisions on a comment: approve, reject, spam, delete. One winner per item."""

from __future__ import annotations

import hmac
from dataclasses import replace
from enum import StrEnum

from server.core.context import Services
from server.core.errors import Conflict, NotFound
from server.core.events import edited, hidden, shown
from server.core.models import (
    AuditEntry,
    Comment,
    Event,
    EventType,
    Moderator,
    QueueChange,
    Site,
    Status,
)
from server.core.ports import Tx


class Action(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    SPAM = "spam"
    DELETE = "delete"


TARGET = {Action.APPROVE: Status.APPROVED, Action.REJECT: Status.REJECTED,
          Action.SPAM: Status.SPAM, Action.DELETE: Status.DELETED}


class AlreadyHandled(Conflict):
    """The comment is no longer what the moderator saw: ``by`` (another moderator's label,
    from the audit log) changed it to ``status`` first; None when no moderator did."""

    def __init__(self, status: Status, by: str | None) -> None:
        super().__init__("already_handled",
                         f"{by} already changed this comment to {status.value}; reload to "
                         "see it" if by else
                         f"this comment was changed to {status.value} meanwhile; reload to "
                         "see it")
        self.status = status
        self.by = by


async def decide_comment(svc: Services, site: Site, comment_id: int, action: Action, *,
                         moderator: Moderator | None, expected: Status | None = None,
                         version: str | None = None, detail: str | None = None) -> Comment:
    """Apply one decision. ``expected`` is the status the moderator saw: if another
    moderator changed it meanwhile, this answers 409 instead of deciding twice. ``version``
    names the text they saw: if it was edited since (bait and switch), 409 as well."""
    target = TARGET[action]
    events: list[Event] = []
    async with svc.store.write() as tx:
        before = await tx.find_comment(comment_id, for_update=True)
        if before is None or before.site_id != site.id:
            raise NotFound("comment_not_found", "no such comment on this site")
        await _check_transition(tx, before, target, expected)
        if version is not None and not hmac.compare_digest(version, before.version):
            raise Conflict("comment_changed", "this comment was edited after you loaded it; "
                                              "review the new text")
        # Approved: the reason it was held is answered, and would only mislead later.
        updated = await tx.update_comment(before.id, status=target, **(
            {"held_reason": None} if target is Status.APPROVED else {}))
        if target is Status.APPROVED and before.flags:
            await tx.clear_flags(before.id)  # reviewed: readers' flags are answered
            updated = replace(updated, flags=0)
        event = await _public_change(tx, before, updated, svc.now_ms())
        if event is not None:
            events.append(event)
        await tx.insert_audit(AuditEntry(
            site_id=site.id, moderator_id=moderator.id if moderator else None,
            action=action.value, comment_id=before.id, before_status=before.status.value,
            after_status=target.value, detail=detail, created_at=svc.now_ms()))
        page = await tx.find_page_by_id(before.page_id)
    await svc.publish(events)
    if page is not None:
        await svc.queue_changed(QueueChange(site.id, updated, page, before.status,
                                            moderator.label if moderator else None))
    if target in (Status.REJECTED, Status.SPAM) and before.status is Status.PENDING \
            and before.author_hash:
        await _tell_author(svc, updated)
    return updated


async def _check_transition(tx: Tx, before: Comment, target: Status, expected: Status | None
                            ) -> None:
    # Approving a published comment that readers flagged dismisses the flags.
    repeated = before.status is target and not (target is Status.APPROVED and before.flags)
    if (expected is not None and before.status is not expected) or repeated:
        raise AlreadyHandled(before.status, await changed_by(tx, before))
    if before.status is Status.DELETED:
        raise Conflict("comment_deleted", "this comment was deleted")


async def changed_by(tx: Tx, comment: Comment) -> str | None:
    """The moderator whose decision put the comment in its current status, as other
    moderators know them; None if its last change was not a moderator's (an author's edit
    or deletion) or their account is gone."""
    last = await tx.latest_audit(comment.id)
    if last is None or last.moderator_id is None or last.after_status != comment.status.value:
        return None
    moderator = await tx.find_moderator_by_id(last.moderator_id)
    return moderator.label if moderator else None


async def _public_change(tx: Tx, before: Comment, after: Comment, now: int) -> Event | None:
    """The durable event when a decision changes what readers see, else None."""
    was, now_public = before.status is Status.APPROVED, after.status is Status.APPROVED
    if was == now_public:
        return None
    if now_public and before.parent_id is not None:
        parent = await tx.find_comment(before.parent_id)
        if parent is None or parent.status is not Status.APPROVED:
            raise Conflict("parent_hidden", "approve the comment this replies to first")
    return await (shown if now_public else hidden)(tx, after, now)


async def _tell_author(svc: Services, comment: Comment) -> None:
    assert comment.author_hash is not None
    async with svc.store.read() as tx:
        page = await tx.find_page_by_id(comment.page_id)
    if page is None:
        return
    event = Event(page.site_id, page.id, page.key, 0, EventType.REJECTED.value,
                  {"comment": {"id": comment.id, "status": Status.REJECTED.value}})
    try:
        await svc.publisher.notify_author(page.site_id, comment.author_hash, event)
    except Exception:  # noqa: BLE001 -- a notification, never worth failing a decision
        return


async def moderator_edit(svc: Services, site: Site, comment_id: int, body: object, *,
                         moderator: Moderator) -> Comment:
    """A moderator corrects any comment; readers see it live, marked `(Edited)`."""
    from server.core.text import clean_body

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
        await tx.insert_audit(AuditEntry(
            site_id=site.id, moderator_id=moderator.id, action="edit", comment_id=before.id,
            before_status=before.status.value, after_status=before.status.value,
            detail=f"{len(before.body)} -> {len(text)} characters", created_at=now))
        page = await tx.find_page_by_id(before.page_id)
    await svc.publish(events)
    if page is not None:  # other moderators review the corrected text, not the old one
        await svc.queue_changed(QueueChange(site.id, updated, page, before.status,
                                            moderator.label))
    return updated
