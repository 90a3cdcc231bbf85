"""What a transaction offers moderation: the queue, readers' flags, bans and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from server.core.models import AuditEntry, Ban, Comment, Page


class QueueTx(Protocol):
    """Comments by moderation tab, and how many each tab holds."""

    async def queue_items(
        self, site_ids: Sequence[str], tab: str, search: str | None, limit: int, offset: int
    ) -> list[tuple[Comment, Page]]: ...
    async def queue_counts(self, site_ids: Sequence[str]) -> dict[str, int]: ...
    async def status_counts(self) -> list[tuple[str, str, int]]:
        """(site id, status, comments) over every site, plus status "flagged"."""
        ...


class FlagsTx(Protocol):
    """Readers' flags, counted once per network."""

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

    async def clear_flags(self, comment_id: int) -> None: ...


class BansTx(Protocol):
    """Authors and networks a site refuses or holds."""

    async def insert_ban(self, ban: Ban, moderator_id: int | None) -> int: ...
    async def list_bans(self, site_ids: Sequence[str]) -> list[Ban]: ...
    async def delete_ban(self, ban_id: int, site_ids: Sequence[str]) -> bool: ...


class AuditTx(Protocol):
    """The log of who decided what."""

    async def insert_audit(self, entry: AuditEntry) -> None: ...
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


class ModerationTx(QueueTx, FlagsTx, BansTx, AuditTx, Protocol):
    """Everything moderation reads and writes besides the comments themselves."""
