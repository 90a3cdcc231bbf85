"""The audit log: what moderators did, written by each use-case in its own transaction, and
read back by the moderators of the sites it is about."""

from __future__ import annotations

from dataclasses import dataclass

from server.core.context import Services
from server.core.models import AuditEntry, Moderator
from server.core.ports import Tx
from server.core.queue import sites_for

AUDIT_PAGE = 50
ACTIONS = (
    "approve",
    "reject",
    "spam",
    "delete",
    "edit",
    "ban",
    "unban",
    "settings",
    "erase",
    "claim",
    "unclaim",
    "pin",
    "unpin",
)
DETAIL_MAX = 500


async def record(
    tx: Tx, site_id: str, by: Moderator | None, action: str, detail: str, now: int
) -> None:
    """One entry about a site (not about one comment): ``by`` None is the operator (CLI)."""
    await tx.insert_audit(
        AuditEntry(
            site_id=site_id,
            moderator_id=by.id if by else None,
            action=action,
            comment_id=None,
            before_status=None,
            after_status=None,
            detail=detail[:DETAIL_MAX],
            created_at=now,
        )
    )


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[tuple[AuditEntry, str | None]]
    has_next: bool


async def audit_log(
    svc: Services,
    moderator: Moderator,
    *,
    action: str | None = None,
    by: str | None = None,
    comment_id: int | None = None,
    page: int = 1,
) -> AuditPage:
    """One page of the log of every site ``moderator`` moderates, newest first; filtered by
    action, by who did it (address or name) and by comment."""
    sites = sites_for(moderator, None)
    if not sites:
        return AuditPage([], False)
    async with svc.store.read() as tx:
        entries = await tx.audit_entries(
            sites,
            action=action if action in ACTIONS else None,
            moderator=by,
            comment_id=comment_id,
            limit=AUDIT_PAGE + 1,
            offset=(max(page, 1) - 1) * AUDIT_PAGE,
        )
    return AuditPage(entries[:AUDIT_PAGE], len(entries) > AUDIT_PAGE)
