"""Readers flag comments; enough flags hold a published comment for review."""

from __future__ import annotations

from dataclasses import replace

from server.core.authors import AuthorTokens
from server.core.context import Services
from server.core.errors import NotFound
from server.core.events import hidden
from server.core.models import Event, QueueChange, Site, Status
from server.core.privacy import ip_hash

FLAGS_PER_MINUTE = 10


async def flag_comment(svc: Services, site: Site, comment_id: int, *, token: str | None,
                       client_ip: str) -> int:
    """Count one reader's flag (a reader flags a comment once); returns the flag count."""
    network = ip_hash(svc.secret, client_ip)
    await svc.check_rate(f"flag:{site.id}:{network}", FLAGS_PER_MINUTE, 60, "flags")
    reporter = AuthorTokens.hash(site.id, AuthorTokens.check_format(token)) if token \
        else "ip:" + network
    events: list[Event] = []
    held = None
    async with svc.store.write() as tx:
        comment = await tx.find_comment(comment_id, for_update=True)
        if comment is None or comment.site_id != site.id or comment.status not in (
                Status.APPROVED, Status.PENDING):
            raise NotFound("comment_not_found", "no such comment on this site")
        before = comment.flags
        count = await tx.add_flag(comment.id, reporter, svc.now_ms())
        page = await tx.find_page_by_id(comment.page_id)
        assert page is not None
        if comment.status is Status.APPROVED and count >= site.filters.flag_threshold:
            reason = f"flagged by {count} readers"
            held = await tx.update_comment(comment.id, status=Status.PENDING, held_reason=reason)
            events.append(await hidden(tx, held, svc.now_ms()))
            page = await tx.find_page_by_id(comment.page_id) or page
    await svc.publish(events)
    if held is not None:
        await svc.queue_changed(QueueChange(site.id, held, page, Status.APPROVED))
    elif count != before:
        await svc.queue_changed(QueueChange(site.id, replace(comment, flags=count), page,
                                            comment.status))
    return count
