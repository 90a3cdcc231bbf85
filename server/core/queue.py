"""The moderation queue: tabs, counts, search, paging, and each item's context."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from server.core.context import Services
from server.core.decisions import RESTORE_MS, TARGET, Action
from server.core.errors import Forbidden, Invalid, NotFound
from server.core.models import AuditEntry, Comment, Identity, Moderator, Page, Status, iso
from server.core.transactions.identities import Claim

# Deleted: what moderators deleted, while it can still be restored.
TABS = ("pending", "flagged", "approved", "rejected", "spam", "deleted")
PAGE_SIZE = 25
DECISIONS = (Action.APPROVE, Action.REJECT, Action.SPAM, Action.DELETE)
# What each tab's bulk bar offers: never the state its items are already in.
TAB_ACTIONS = {
    "pending": DECISIONS,
    "flagged": DECISIONS,
    "approved": (Action.REJECT, Action.SPAM, Action.DELETE),
    "rejected": (Action.APPROVE, Action.SPAM, Action.DELETE),
    "spam": (Action.APPROVE, Action.REJECT, Action.DELETE),
    "deleted": (Action.RESTORE,),
}


def actions_for(comment: Comment) -> list[Action]:
    """The decisions offered on one comment: never the status it already has, except that
    approving a published comment readers flagged keeps it and dismisses their flags."""
    if comment.status is Status.DELETED:
        return [Action.RESTORE] if restorable_until(comment) else []
    return [
        a
        for a in DECISIONS
        if TARGET[a] is not comment.status or (a is Action.APPROVE and comment.flags)
    ]


def restorable_until(comment: Comment) -> int | None:
    """Until when a deleted comment can be restored (None: it cannot)."""
    if comment.status is not Status.DELETED or comment.deleted_at is None:
        return None
    return comment.deleted_at + RESTORE_MS


def held_reason(comment: Comment) -> str | None:
    """Why the comment was held, while that still explains where it is: a published
    comment's old reason is stale (its flags say why it is back in a tab)."""
    return None if comment.status is Status.APPROVED else comment.held_reason


def avatar_host(url: str | None) -> str | None:
    """The host a verified reader's avatar is served from: all a moderator sees of it (the
    moderation pages load no third-party image)."""
    if not url:
        return None
    try:
        return urlsplit(url).hostname or None
    except ValueError:
        return None


REACTION_SIGNS = {"up": "\u25b2", "down": "\u25bc"}  # ▲ ▼


def reaction_summary(totals: tuple[tuple[str, int], ...]) -> str:
    return " ".join(f"{REACTION_SIGNS.get(kind, kind)} {count}" for kind, count in totals)


@dataclass(frozen=True)
class QueueItem:
    comment: Comment
    page: Page
    parent: Comment | None
    # The signed-in reader who wrote it (single sign-on), when the view read it: the live
    # queue renders from the change alone and shows just the verified mark and name.
    identity: Identity | None = None
    # What that reader claimed of their earlier anonymous comments (the comment's own page
    # reads them; a moderator may give them back).
    claims: tuple[Claim, ...] = ()

    @property
    def actions(self) -> list[str]:
        return [a.value for a in actions_for(self.comment)]

    @property
    def restorable_until(self) -> int | None:
        return restorable_until(self.comment)

    @property
    def reason(self) -> str | None:
        return held_reason(self.comment)

    @property
    def avatar_host(self) -> str | None:
        return avatar_host(self.comment.author_avatar) if self.comment.verified else None

    @property
    def reaction_totals(self) -> str:
        """The comment's reactions as moderators read them: ``▲ 3 ▼ 1``, or each emoji
        with its count (empty when none)."""
        return reaction_summary(self.comment.reaction_counts)

    @property
    def claimed_from(self) -> Claim | None:
        """This comment's claim: it was written anonymously before its author signed in."""
        return next((c for c in self.claims if c.comment_id == self.comment.id), None)

    @property
    def stamp(self) -> str:
        """What the queue shows of the item's state, as one string: a page holding an item
        with another stamp shows it again (the socket's hello frame)."""
        c = self.comment
        pinned = int(c.pinned_at is not None)
        return f"{c.status.value}:{c.version}:{c.flags}:{pinned}:{self.reason or ''}"

    def view(self) -> dict[str, Any]:
        """The item as the moderation page shows it (and the live queue sends it)."""
        c = self.comment
        return {
            "id": c.id,
            "stamp": self.stamp,
            "site": c.site_id,
            "status": c.status.value,
            "version": c.version,
            "name": c.author_name,
            "body": c.body,
            "created_at": iso(c.created_at),
            "moderator": c.moderator,
            "verified": c.verified,
            "subject": self.identity.subject if self.identity else None,
            "avatar_host": self.avatar_host,
            "edited": c.edited_at is not None,
            "held_reason": self.reason,
            "flags": c.flags,
            "reactions": self.reaction_totals,
            "actions": self.actions,
            # Published top-level comments can be pinned (moderate.js draws Pin / Unpin).
            "pinnable": c.status is Status.APPROVED and c.parent_id is None,
            "pinned": c.pinned_at is not None and c.status is Status.APPROVED,
            "restorable_until": iso(until) if (until := restorable_until(c)) else None,
            "page": {"key": self.page.key, "url": self.page.url, "title": self.page.title},
            "parent": None
            if self.parent is None
            else {
                "id": self.parent.id,
                "name": self.parent.author_name,
                "body": self.parent.body[:200],
            },
        }


@dataclass(frozen=True)
class QueueView:
    tab: str
    site: str | None
    search: str
    page: int
    items: list[QueueItem]
    counts: dict[str, int]
    has_next: bool


def tab_of(comment: Comment) -> list[str]:
    """The tabs a comment shows under (flagged ones show under their status too)."""
    if comment.status is Status.DELETED:
        return ["deleted"] if restorable_until(comment) else []
    tabs: list[str] = [comment.status.value] if comment.status.value in TABS else []
    if comment.flags and comment.status.value in ("approved", "pending"):
        tabs.append("flagged")
    return tabs


def sites_for(moderator: Moderator, site_id: str | None) -> list[str]:
    if site_id:
        if not moderator.can_moderate(site_id):
            raise Forbidden("not_your_site", "you do not moderate that site")
        return [site_id]
    return sorted(moderator.sites)


async def view_queue_for(
    svc: Services, moderator: Moderator, query: Mapping[str, str]
) -> QueueView:
    """The queue as a moderation page's query string asks (``tab``, ``site``, ``q``,
    ``page``; what is not understood reads as the default), for the page and its socket."""
    tab = query.get("tab", "pending")
    try:
        page = int(query.get("page", "1"))
    except ValueError:
        page = 1
    return await view_queue(
        svc,
        moderator,
        tab=tab if tab in TABS else "pending",
        site_id=query.get("site") or None,
        search=query.get("q", ""),
        page=page,
    )


async def view_queue(
    svc: Services,
    moderator: Moderator,
    *,
    tab: str = "pending",
    site_id: str | None = None,
    search: str = "",
    page: int = 1,
) -> QueueView:
    if tab not in TABS:
        raise Invalid("invalid_tab", "tab must be one of " + ", ".join(TABS))
    page = max(1, min(page, 10_000))
    sites = sites_for(moderator, site_id)
    # Control characters are no part of a search (and PostgreSQL refuses a NUL outright).
    search = " ".join("".join(ch if ch.isprintable() else " " for ch in search).split())[:100]
    if not sites:
        return QueueView(tab, site_id, search, page, [], dict.fromkeys(TABS, 0), False)
    async with svc.store.read() as tx:
        rows = await tx.queue_items(
            sites, tab, search or None, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE
        )
        counts = await tx.queue_counts(sites)
        parents = await tx.find_comments(
            [ref for c, _ in rows if (ref := c.reply_to_id or c.parent_id)]
        )
        # Who the signed-in readers among the authors are: one query for the whole page.
        identities = await tx.identities_of(
            {c.author_hash for c, _ in rows[:PAGE_SIZE] if c.verified and c.author_hash}
        )
    items = [
        QueueItem(
            c,
            p,
            parents.get(c.reply_to_id or c.parent_id or 0),
            identities.get(c.author_hash) if c.verified and c.author_hash else None,
        )
        for c, p in rows[:PAGE_SIZE]
    ]
    return QueueView(tab, site_id, search, page, items, counts, len(rows) > PAGE_SIZE)


async def queue_item(svc: Services, comment: Comment, page: Page) -> QueueItem:
    """One comment as the queue shows it, with its author's identity and what that
    identity claimed."""
    parent_id = comment.reply_to_id or comment.parent_id
    author = comment.author_hash if comment.verified else None
    async with svc.store.read() as tx:
        parent = await tx.find_comment(parent_id) if parent_id else None
        identity = await tx.find_identity(author) if author else None
        claims = await tx.claims_of(comment.site_id, author) if author else []
    return QueueItem(comment, page, parent, identity, tuple(claims))


HISTORY = 100  # audit entries shown on a comment's page


async def comment_history(
    svc: Services, moderator: Moderator, comment_id: int
) -> tuple[QueueItem, list[tuple[AuditEntry, str | None]]]:
    """One comment as the queue shows it, with what moderators did to it (newest first).
    A comment on a site the moderator does not moderate is not found."""
    async with svc.store.read() as tx:
        comment = await tx.find_comment(comment_id)
        if comment is None or not moderator.can_moderate(comment.site_id):
            raise NotFound("comment_not_found", "no such comment on your sites")
        page = await tx.find_page_by_id(comment.page_id)
        history = await tx.audit_entries(
            [comment.site_id],
            action=None,
            moderator=None,
            comment_id=comment.id,
            limit=HISTORY,
            offset=0,
        )
    assert page is not None
    return await queue_item(svc, comment, page), history


@dataclass(frozen=True, slots=True)
class CommentCounts:
    """Comments by (site, status), "flagged" counted as a status too, and every site's id
    (a site with nothing waiting still has a queue, of depth 0)."""

    by_status: list[tuple[str, str, int]]
    site_ids: list[str]


async def comment_counts(svc: Services) -> CommentCounts:
    async with svc.store.read() as tx:
        counts = await tx.status_counts()
        site_ids = [site.id for site in await tx.list_sites()]
    return CommentCounts(counts, site_ids)
