"""Banning an author from a site: their pseudonymous identity, optionally their network."""

from __future__ import annotations

from server.core.authority import owned_site, require_moderator
from server.core.context import Services
from server.core.errors import Invalid, NotFound
from server.core.models import AuditEntry, Ban, Moderator, Site

MODES = ("reject", "hold")


async def ban_author(
    svc: Services,
    site: Site,
    comment_id: int,
    *,
    moderator: Moderator,
    mode: str = "reject",
    include_ip: bool = False,
    reason: str | None = None,
) -> Ban:
    """Ban whoever wrote ``comment_id``: later comments are refused or held. No e-mail or
    raw IP is ever stored: the ban holds the author-token hash and the network's hash."""
    require_moderator(moderator, site.id)
    if mode not in MODES:
        raise Invalid("invalid_ban_mode", "ban mode must be 'reject' or 'hold'")
    now = svc.now_ms()
    async with svc.store.write() as tx:
        comment = await tx.find_comment(comment_id)
        if comment is None or comment.site_id != site.id:
            raise NotFound("comment_not_found", "no such comment on this site")
        ban = Ban(
            id=0,
            site_id=site.id,
            author_hash=comment.author_hash,
            ip_hash=comment.ip_hash if include_ip else None,
            mode=mode,
            reason=(reason or "")[:200] or None,
            created_at=now,
        )
        ban_id = await tx.insert_ban(ban, moderator.id)
        await tx.insert_audit(
            AuditEntry(
                site_id=site.id,
                moderator_id=moderator.id,
                action="ban",
                comment_id=comment.id,
                before_status=None,
                after_status=None,
                detail=f"{mode}{' + network' if include_ip else ''}: {reason or ''}".strip(),
                created_at=now,
            )
        )
    return Ban(ban_id, ban.site_id, ban.author_hash, ban.ip_hash, ban.mode, ban.reason, now)


async def lift_ban(svc: Services, site_id: str, ban_id: int, *, moderator: Moderator) -> None:
    """Owners only: a ban is part of the site's settings."""
    site = await owned_site(svc, moderator, site_id)
    async with svc.store.write() as tx:
        if not await tx.delete_ban(ban_id, [site.id]):
            raise NotFound("ban_not_found", "no such ban on this site")
        await tx.insert_audit(
            AuditEntry(
                site_id=site.id,
                moderator_id=moderator.id,
                action="unban",
                comment_id=None,
                before_status=None,
                after_status=None,
                detail=f"ban {ban_id}",
                created_at=svc.now_ms(),
            )
        )
