"""Pinning a comment to the top of its thread, and taking the pin off.

Moderators pin, from the moderation pages or, on a site that trusts its sign-in's moderator
claims (``sso.moderators``), as a signed-in reader whose token says they moderate. Only a
published top-level comment can be pinned, at most ``MAX_PINS`` per page. Each change is a
durable event (``comment.pinned`` / ``comment.unpinned``) committed with it and audited; a
pinned comment that leaves public view (deleted, erased, rejected, held) loses its pin in
the same transaction (``events.hidden``)."""

from __future__ import annotations

from server.core.authority import comment_to_moderate, require_moderator
from server.core.context import Services
from server.core.errors import Conflict, Forbidden, NotFound, Unauthorized
from server.core.events import record
from server.core.models import (
    AuditEntry,
    Comment,
    Event,
    EventType,
    Identity,
    Moderator,
    Site,
    Status,
)
from server.core.readers import is_session, session_identity

MAX_PINS = 3


async def pin_as_moderator(
    svc: Services, moderator: Moderator, comment_id: int, *, pinned: bool
) -> Comment:
    """A moderator pins (or unpins) a comment of one of their sites."""
    _, site = await comment_to_moderate(svc, moderator, comment_id)
    return await set_pinned(svc, site, comment_id, pinned=pinned, moderator=moderator)


async def pin_as_reader(
    svc: Services, site: Site, comment_id: int, token: str | None, *, pinned: bool
) -> Comment:
    """A signed-in reader pins (or unpins) a comment, if the site's sign-in says they are
    one of its moderators and the site trusts it to say so."""
    if token is None:
        raise Unauthorized("token_required", "sign in as a moderator of this site to pin")
    refused = Forbidden("not_moderator", "only the site's moderators can pin comments")
    if not is_session(token):  # an anonymous author token names no moderator
        raise refused
    async with svc.store.read() as tx:
        identity = await session_identity(tx, svc.secret, site, token, svc.now_ms())
    if not (identity.moderator and site.sso.moderators):
        raise refused
    return await set_pinned(svc, site, comment_id, pinned=pinned, identity=identity)


async def set_pinned(
    svc: Services,
    site: Site,
    comment_id: int,
    *,
    pinned: bool,
    moderator: Moderator | None = None,
    identity: Identity | None = None,
) -> Comment:
    """Pin or unpin, with the event and the audit entry in one transaction. Pinning what is
    already pinned, or unpinning what is not (whatever it is), changes nothing and records
    nothing.
    ``moderator`` and ``identity`` None is the operator (CLI)."""
    if moderator is not None:
        require_moderator(moderator, site.id)
    now = svc.now_ms()
    events: list[Event] = []
    async with svc.store.write() as tx:
        comment = await tx.find_comment(comment_id, for_update=True)
        if comment is None or comment.site_id != site.id:
            raise NotFound("comment_not_found", "no such comment on this site")
        if pinned == (comment.pinned_at is not None):
            # Nothing to change (no pin to take off is no error either: only published
            # comments hold pins).
            return comment
        if comment.parent_id is not None or comment.status is not Status.APPROVED:
            raise Conflict("not_pinnable", "only published top-level comments can be pinned")
        # The page's row lock (taken now, held until commit) queues concurrent pins of
        # one page, so two of them cannot both see room for a third pin.
        await tx.lock_page(comment.page_id)
        if pinned and await tx.count_pinned(comment.page_id) >= MAX_PINS:
            raise Conflict(
                "too_many_pins", f"at most {MAX_PINS} comments can be pinned on a page; unpin one"
            )
        updated = await tx.update_comment(comment.id, pinned_at=now if pinned else None)
        kind = EventType.PINNED if pinned else EventType.UNPINNED
        events.append(await record(tx, comment.page_id, 0, kind, updated, now))
        await tx.insert_audit(
            AuditEntry(
                site_id=site.id,
                moderator_id=moderator.id if moderator else None,
                action="pin" if pinned else "unpin",
                comment_id=comment.id,
                before_status=comment.status.value,
                after_status=comment.status.value,
                detail=_by_reader(identity),
                created_at=now,
            )
        )
    await svc.publish(events)
    return updated


def _by_reader(identity: Identity | None) -> str | None:
    """Who pinned, when it was a signed-in moderator of the site (no moderator account)."""
    if identity is None:
        return None
    return f"signed-in moderator {identity.name} (user id {identity.subject})"[:500]
