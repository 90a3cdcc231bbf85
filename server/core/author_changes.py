"""An author changes their own comment, with the author token they were given, inside the
edit window: edit it (readers see `(Edited)`) or delete it (its text and name go at once)."""

from __future__ import annotations

import hmac

from server.core import notifications
from server.core.context import Services
from server.core.errors import Conflict, Forbidden, NotFound
from server.core.events import edited, hidden
from server.core.models import Comment, Event, Site, Status
from server.core.privacy import ip_hash
from server.core.queue_changes import queue_change
from server.core.readers import author_hash_of
from server.core.screening import decide
from server.core.text import clean_body
from server.core.transactions.combined import AuthorChangeTx

CHANGES_PER_MINUTE = 20  # edits and deletions from one network


async def _owned(
    tx: AuthorChangeTx, svc: Services, site: Site, comment_id: int, token: str | None
) -> Comment:
    author = await author_hash_of(tx, svc.secret, site, token, svc.now_ms())
    comment = await tx.find_comment(comment_id, for_update=True)
    if comment is None or comment.site_id != site.id:
        raise NotFound("comment_not_found", "no such comment on this site")
    if comment.author_hash is None or not hmac.compare_digest(comment.author_hash, author):
        if comment.status is not Status.APPROVED:  # another's held comment: not there
            raise NotFound("comment_not_found", "no such comment on this site")
        raise Forbidden("not_author", "these credentials did not write that comment")
    if comment.status not in (Status.APPROVED, Status.PENDING):
        raise Conflict("comment_not_editable", f"this comment is {comment.status.value}")
    if svc.now_ms() - comment.created_at > svc.limits.edit_window * 1000:
        raise Forbidden(
            "edit_window_closed",
            f"comments can be changed for {svc.limits.edit_window} seconds only",
        )
    return comment


async def _check_changes(svc: Services, site: Site, client_ip: str) -> None:
    # Each change of a published comment reaches every reader, cache and moderator: an
    # author editing in a loop must not make that traffic at will.
    await svc.check_rate(
        f"change:{site.id}:{ip_hash(svc.secret, client_ip)}", CHANGES_PER_MINUTE, 60, "edits"
    )


async def edit_comment(
    svc: Services, site: Site, comment_id: int, body: object, *, token: str | None, client_ip: str
) -> Comment:
    """An author edits their own comment inside the edit window; readers see `(Edited)`."""
    await _check_changes(svc, site, client_ip)
    text = clean_body(body)
    events: list[Event] = []
    async with svc.store.write() as tx:
        comment = await _owned(tx, svc, site, comment_id, token)
        held = decide(site, text, comment.author_name, author_approved=1)
        status = comment.status
        if status is Status.APPROVED and held.status is Status.PENDING:
            status = Status.PENDING
        updated = await tx.update_comment(
            comment.id, body=text, edited_at=svc.now_ms(), status=status, held_reason=held.reason
        )
        if comment.status is Status.APPROVED:
            change = edited if status is Status.APPROVED else hidden
            events.append(await change(tx, updated, svc.now_ms()))
        page = await tx.find_page_by_id(comment.page_id)
        queued = (
            None if page is None else await queue_change(tx, site.id, updated, page, comment.status)
        )
    await svc.publish(events)
    if queued is not None:  # every edit: a moderator must review the text that is there now
        await svc.queue_changed(queued)
    return updated


async def delete_comment(
    svc: Services, site: Site, comment_id: int, *, token: str | None, client_ip: str
) -> Comment:
    """An author deletes their own comment; its text and name are erased at once."""
    await _check_changes(svc, site, client_ip)
    events: list[Event] = []
    async with svc.store.write() as tx:
        # Before any comment is locked (the fan-out locks its page first, then the comments
        # its rows name): a fan-out of the page under way commits first, and its
        # notifications are withdrawn below; none starts until this commits.
        listed = await tx.find_comment(comment_id)
        if listed is not None:
            await tx.lock_fanout([listed.page_id])
        comment = await _owned(tx, svc, site, comment_id, token)
        updated = await tx.update_comment(
            comment.id, status=Status.DELETED, body="", author_name=None, author_avatar=None
        )
        if comment.status is Status.APPROVED:
            events.append(await hidden(tx, updated, svc.now_ms()))
        told = await notifications.withdrawn(tx, comment)
        page = await tx.find_page_by_id(comment.page_id)
        queued = (
            None if page is None else await queue_change(tx, site.id, updated, page, comment.status)
        )
    await svc.publish(events)
    await svc.notifications_changed(site.id, told)
    if queued is not None:
        await svc.queue_changed(queued)
    return updated
