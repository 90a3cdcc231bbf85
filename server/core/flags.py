"""Readers flag comments; enough flags hold a published comment for review."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace

from server.core.context import Services
from server.core.errors import Forbidden, NotFound, Unauthorized
from server.core.events import hidden
from server.core.models import Event, Site, Status
from server.core.privacy import ip_hash
from server.core.queue_changes import queue_change
from server.core.readers import author_hash_of, is_session

FLAGS_PER_MINUTE = 10  # flags and undos together, per network


def _undo_token(
    secret: str, site_id: str, comment_id: int, network: str, author: str | None, at: int
) -> str:
    """Proof that a request raised the flag stored at ``at``: bound to the comment, the
    network and the author token, so only that reader can take it back."""
    mac = hmac.new(
        secret.encode(),
        f"unflag:{site_id}:{comment_id}:{network}:{author or ''}:{at}".encode(),
        hashlib.sha256,
    ).hexdigest()[:32]
    return f"{at}.{mac}"


async def flag_comment(
    svc: Services, site: Site, comment_id: int, *, token: str | None, client_ip: str
) -> tuple[int, str]:
    """Count one reader's flag: once per network and once per author token, and only
    tokens this server issued (or whose author it knows) count. Returns the flag count and
    the token that takes this flag back (``unflag_comment``)."""
    network = ip_hash(svc.secret, client_ip)
    await svc.check_rate(f"flag:{site.id}:{network}", FLAGS_PER_MINUTE, 60, "flags")
    events: list[Event] = []
    held = None
    now = svc.now_ms()
    async with svc.store.write() as tx:
        author = await author_hash_of(tx, svc.secret, site, token, now) if token else None
        if (
            token is not None
            and author is not None
            and not is_session(token)  # a session is this server's own, checked above
            and not svc.tokens.issued_here(site.id, token)
            and not await tx.author_known(site.id, author)
        ):
            raise Unauthorized("invalid_token", "this author token was not issued here")
        comment = await tx.find_comment(comment_id, for_update=True)
        # Held comments are nobody's to flag: answering for them would say they exist.
        if comment is None or comment.site_id != site.id or comment.status is not Status.APPROVED:
            raise NotFound("comment_not_found", "no such comment on this site")
        before = comment.flags
        count = await tx.add_flag(comment.id, network, author, now)
        page = await tx.find_page_by_id(comment.page_id)
        assert page is not None
        # A moderator's own reply stays up: flags on it still reach the Flagged tab.
        if not comment.moderator and count >= site.filters.flag_threshold:
            reason = f"flagged by {count} readers"
            held = await tx.update_comment(comment.id, status=Status.PENDING, held_reason=reason)
            events.append(await hidden(tx, held, svc.now_ms()))
            page = await tx.find_page_by_id(comment.page_id) or page
        queued = None
        if held is not None:
            queued = await queue_change(tx, site.id, held, page, Status.APPROVED)
        elif count != before:
            flagged = replace(comment, flags=count)
            queued = await queue_change(tx, site.id, flagged, page, comment.status)
    await svc.publish(events)
    if queued is not None:
        await svc.queue_changed(queued)
    return count, _undo_token(svc.secret, site.id, comment_id, network, author, now)


async def unflag_comment(
    svc: Services,
    site: Site,
    comment_id: int,
    undo: str | None,
    *,
    token: str | None,
    client_ip: str,
) -> int:
    """Take back a flag: only with the ``undo`` token its flag gave, from the same network
    and author token, so nobody can withdraw another reader's flag. A flag already gone
    (forgotten, cleared by a moderator, never counted) is no error. A comment the flags
    held stays held: a moderator decides. Returns the flag count."""
    network = ip_hash(svc.secret, client_ip)
    await svc.check_rate(f"flag:{site.id}:{network}", FLAGS_PER_MINUTE, 60, "flags")
    author = None
    if token is not None:
        async with svc.store.read() as tx:
            author = await author_hash_of(tx, svc.secret, site, token, svc.now_ms())
    at = (undo or "").partition(".")[0]
    if not (
        at.isascii()
        and at.isdigit()
        and len(at) < 16
        and hmac.compare_digest(
            (undo or "").encode(),
            _undo_token(svc.secret, site.id, comment_id, network, author, int(at)).encode(),
        )
    ):
        raise Forbidden(
            "not_your_flag",
            "only the reader who raised a flag can take it back, with the undo token it was given",
        )
    async with svc.store.write() as tx:
        comment = await tx.find_comment(comment_id, for_update=True)
        if comment is None or comment.site_id != site.id:
            raise NotFound("comment_not_found", "no such comment on this site")
        count = await tx.remove_flag(comment.id, network, author, int(at))
        page = await tx.find_page_by_id(comment.page_id)
        assert page is not None
        queued = None
        if count != comment.flags:
            unflagged = replace(comment, flags=count)
            queued = await queue_change(tx, site.id, unflagged, page, comment.status)
    if queued is not None:
        await svc.queue_changed(queued)
    return count
