"""What core needs from its collaborators, as Protocols the adapters implement."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from server.core.cursors import Cursor
from server.core.models import (
    AuditEntry,
    Ban,
    Comment,
    Event,
    Invitation,
    Moderator,
    Order,
    Page,
    QueueChange,
    Role,
    Site,
    Status,
)


@dataclass(frozen=True, slots=True)
class NewComment:
    site_id: str
    page_id: int
    parent_id: int | None
    reply_to_id: int | None
    author_name: str | None
    author_hash: str | None
    body: str
    status: Status
    moderator: bool
    created_at: int
    ip_hash: str | None
    idempotency_key: str | None
    held_reason: str | None


class Tx(Protocol):
    """One database transaction. Writes commit together or not at all."""

    async def find_site(self, site_id: str) -> Site | None: ...
    async def list_sites(self) -> list[Site]: ...
    async def insert_site(self, site: Site) -> None: ...
    async def update_site(self, site: Site) -> None: ...
    async def site_counts(self, site_id: str) -> tuple[int, int, int]:
        """(pages, comments, moderators' grants) of a site."""
        ...

    async def delete_site(self, site_id: str) -> None:
        """Delete the site with its pages, comments, events, flags, bans, invitations, audit
        entries and grants (moderators' accounts stay)."""
        ...

    async def find_page(self, site_id: str, key: str) -> Page | None: ...
    async def find_page_by_id(self, page_id: int) -> Page | None: ...
    async def ensure_page(
        self, site_id: str, key: str, url: str | None, title: str | None, now: int
    ) -> Page: ...
    async def advance_page(self, page_id: int, count_delta: int) -> Page:
        """Take the page's next ``seq`` (locking the page row until commit)."""
        ...

    async def page_counts(self, site_id: str, keys: Sequence[str]) -> dict[str, int]: ...
    async def page_seqs(self, page_ids: Sequence[int]) -> dict[int, int]: ...

    async def find_comment(
        self, comment_id: int, *, for_update: bool = False
    ) -> Comment | None: ...
    async def find_comment_by_key(self, site_id: str, key: str) -> Comment | None: ...
    async def insert_comment(self, new: NewComment) -> Comment: ...
    async def update_comment(self, comment_id: int, **changes: Any) -> Comment: ...
    async def add_reply_count(self, comment_id: int, delta: int) -> None: ...
    async def add_page_count(self, page_id: int, delta: int) -> None:
        """Change a page's comment count without taking a ``seq`` (imports publish no
        events)."""
        ...

    async def imported_comments(
        self, site_id: str
    ) -> dict[str, tuple[int, int | None, int, Status]]:
        """Every comment an import wrote on the site: its key -> (id, parent id, page id,
        status)."""
        ...

    async def author_checks(
        self,
        site_id: str,
        page_id: int,
        author_hash: str,
        ip_hash: str,
        body: str,
        since: int,
        *,
        need_approved: bool,
    ) -> tuple[str | None, bool, bool]:
        """In one round trip: the ban mode that applies (or None), whether this text was
        just posted here by the same author, and whether the author has an approved comment
        on the site (only looked up when ``need_approved``)."""
        ...

    async def top_level(
        self, page_id: int, order: Order, after: Cursor | None, limit: int
    ) -> list[Comment]: ...
    async def newest_approved(
        self, site_id: str, page_id: int | None, limit: int
    ) -> list[tuple[Comment, Page]]:
        """The newest approved comments of a site, or of one page: for feeds."""
        ...

    async def first_replies(
        self, page_id: int, parent_ids: Sequence[int], limit_each: int
    ) -> dict[int, list[Comment]]: ...
    async def replies(self, parent: Comment, after: Cursor | None, limit: int) -> list[Comment]: ...

    async def find_moderator(self, email: str) -> Moderator | None: ...
    async def list_moderators(self) -> list[Moderator]:
        """Every account with its sites, by e-mail."""
        ...

    async def find_moderator_by_id(self, moderator_id: int) -> Moderator | None: ...
    async def insert_moderator(self, email: str, password_hash: str, now: int) -> Moderator: ...
    async def set_password(self, moderator_id: int, password_hash: str) -> None: ...
    async def grant(self, moderator_id: int, site_id: str, role: Role) -> None: ...
    async def revoke(self, moderator_id: int, site_id: str) -> None: ...
    async def delete_moderator(self, moderator_id: int) -> None: ...

    async def set_display_name(self, moderator_id: int, name: str | None) -> None: ...
    async def insert_password_reset(
        self, token_hash: str, moderator_id: int, now: int, expires_at: int
    ) -> None:
        """Store a reset link's token hash; earlier links of the account stop working."""
        ...

    async def find_password_reset(self, token_hash: str) -> tuple[int, int] | None:
        """(moderator id, expires at) of a reset link."""
        ...

    async def delete_password_resets(self, moderator_id: int) -> None: ...
    async def purge_password_resets(self, now: int) -> int: ...
    async def insert_invitation(
        self,
        token_hash: str,
        site_id: str,
        email: str,
        role: Role,
        invited_by: int,
        now: int,
        expires_at: int,
    ) -> None: ...
    async def find_invitation(self, token_hash: str) -> Invitation | None: ...
    async def delete_invitation(self, invitation_id: int, site_id: str) -> bool: ...
    async def site_invitations(self, site_id: str) -> list[Invitation]: ...
    async def purge_invitations(self, now: int) -> int:
        """Forget invitations that expired; returns how many."""
        ...

    async def site_moderators(self, site_id: str) -> list[tuple[int, str, Role]]: ...

    async def queue_items(
        self, site_ids: Sequence[str], tab: str, search: str | None, limit: int, offset: int
    ) -> list[tuple[Comment, Page]]: ...
    async def queue_counts(self, site_ids: Sequence[str]) -> dict[str, int]: ...
    async def status_counts(self) -> list[tuple[str, str, int]]:
        """(site id, status, comments) over every site, plus status "flagged"."""
        ...

    async def find_comments(self, ids: Sequence[int]) -> dict[int, Comment]: ...
    async def add_flag(self, comment_id: int, network: str, author: str | None, now: int) -> int:
        """Record a reader's flag unless that network or author already flagged the
        comment; returns how many networks flagged it."""
        ...

    async def remove_flag(self, comment_id: int, network: str, author: str | None, at: int) -> int:
        """Remove the flag rows this network and author raised at ``at`` (none if they are
        gone or were raised by someone else); returns how many networks flag it now."""
        ...

    async def forget_flagger(self, author_hash: str) -> None:
        """Forget which comments this author flagged (their flags keep counting)."""
        ...

    async def purge_flag_networks(self, before: int) -> int:
        """Unlink flags raised before ``before`` from their networks; returns how many."""
        ...

    async def author_known(self, site_id: str, author_hash: str) -> bool:
        """Whether this author token hash wrote any comment on the site."""
        ...

    async def clear_flags(self, comment_id: int) -> None: ...
    async def insert_ban(self, ban: Ban, moderator_id: int | None) -> int: ...
    async def list_bans(self, site_ids: Sequence[str]) -> list[Ban]: ...
    async def delete_ban(self, ban_id: int, site_ids: Sequence[str]) -> bool: ...
    async def latest_audit(self, comment_id: int) -> AuditEntry | None:
        """The newest audit entry about the comment."""
        ...

    async def audit_entries(
        self,
        site_ids: Sequence[str],
        *,
        action: str | None,
        moderator: str | None,
        comment_id: int | None,
        limit: int,
        offset: int,
    ) -> list[tuple[AuditEntry, str | None]]: ...

    async def author_comments(
        self, site_id: str, author_hash: str
    ) -> list[tuple[Comment, str]]: ...
    async def site_pages(self, site_id: str) -> list[Page]: ...
    async def site_comments(self, site_id: str) -> list[Comment]: ...
    async def purge_deleted_text(self, before: int) -> int:
        """Blank the text and name of comments a moderator deleted before ``before`` (they
        can no longer be restored); returns how many."""
        ...

    async def purge_ip_hashes(self, before: int) -> int: ...
    async def purge_sessions(self, before: int) -> int: ...

    async def insert_session(
        self, token_hash: str, moderator_id: int, csrf: str, now: int
    ) -> None: ...
    async def find_session(self, token_hash: str) -> tuple[int, str, int, int] | None: ...
    async def touch_session(self, token_hash: str, now: int) -> None: ...
    async def delete_session(self, token_hash: str) -> None: ...
    async def delete_sessions_of(self, moderator_id: int) -> int:
        """End every session of the account; returns how many there were."""
        ...

    async def insert_event(self, event: Event, now: int) -> None: ...
    async def insert_audit(self, entry: AuditEntry) -> None: ...
    async def events_after(self, page: Page, after: int, limit: int) -> list[Event]: ...


class Store(Protocol):
    def read(self) -> AbstractAsyncContextManager[Tx]: ...
    def write(self) -> AbstractAsyncContextManager[Tx]: ...


class Counters(Protocol):
    """Fixed-window counters shared by every process (Redis) or kept in this one: what the
    rate limits count with."""

    async def hit(self, key: str, limit: int, window: float) -> float:
        """Count a hit; 0 if allowed, else the seconds until the window frees up."""
        ...

    async def peek(self, key: str) -> int:
        """Hits counted in the key's current window (0 when none)."""
        ...

    async def reset(self, key: str) -> None: ...

    async def release(self, key: str) -> None:
        """Give back one hit counted in the key's current window."""
        ...


class QueueObserver(Protocol):
    """Hears of every comment entering or changing a moderation state (the live queue,
    webhooks, e-mail)."""

    async def queue_changed(self, change: QueueChange) -> None: ...


class Publisher(Protocol):
    """Delivers committed events to live readers. Called only after commit."""

    async def publish(self, events: Sequence[Event]) -> None: ...
    async def notify_author(self, site_id: str, author_hash: str, event: Event) -> None: ...
