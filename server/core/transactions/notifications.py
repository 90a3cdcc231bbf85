"""What a transaction offers on readers' notifications: rows per recipient (an author hash),
written in the transaction of the change that causes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoredNotification:
    id: int
    kind: str
    comment_id: int
    page_id: int
    actors: int
    created_at: int
    updated_at: int
    read_at: int | None


@dataclass(frozen=True, slots=True)
class NewNotification:
    site_id: str
    recipient: str
    kind: str
    comment_id: int
    page_id: int
    created_at: int


class NotificationsTx(Protocol):
    """Readers' notifications, newest change first."""

    async def add_notification(
        self, site_id: str, recipient: str, kind: str, comment_id: int, page_id: int, now: int
    ) -> None:
        """Tell ``recipient`` once of ``kind`` about a comment: a reply that flags held and a
        moderator approved again is not news twice."""
        ...

    async def add_notifications(self, rows: Sequence[NewNotification]) -> None:
        """Many at once; one a recipient has already (same kind and comment) is skipped."""
        ...

    async def summarise_reactions(
        self,
        site_id: str,
        recipient: str,
        comment_id: int,
        page_id: int,
        actors: int,
        now: int,
        *,
        renew: bool,
    ) -> None:
        """Keep the one ``reactions`` row of a comment at ``actors``. ``renew`` (someone
        reacted) also stamps it changed and unread, creating it if need be; without it (a
        reaction taken back) only an existing row's count changes. A row whose count drops to
        0 is deleted, read or not ("0 people reacted" is no news)."""
        ...

    async def notifications_of(
        self, site_id: str, recipient: str, after: tuple[int, int] | None, limit: int
    ) -> list[StoredNotification]:
        """The recipient's rows by (updated_at, id) descending, below ``after`` if given."""
        ...

    async def unread_notifications(self, site_id: str, recipient: str) -> int: ...

    async def mark_notifications_read(
        self, site_id: str, recipient: str, ids: Sequence[int] | None, now: int
    ) -> None:
        """Mark those of ``ids`` that are the recipient's read; all of theirs when None."""
        ...

    async def delete_notification(self, site_id: str, recipient: str, notification_id: int) -> bool:
        """Delete one of the recipient's rows; False when they have no such row."""
        ...

    async def delete_notifications_of(self, site_id: str, recipient: str) -> None: ...

    async def delete_notifications_about(self, comment_ids: Sequence[int]) -> None: ...

    async def delete_notification_of_kind(
        self, site_id: str, recipient: str, kind: str, comment_id: int
    ) -> bool:
        """Delete the recipient's ``kind`` row about a comment; False when there was none."""
        ...

    async def withdraw_notifications(self, comment_id: int, kinds: Sequence[str]) -> list[str]:
        """Delete the rows of ``kinds`` about a comment; the recipients they were for."""
        ...

    async def move_notifications(self, site_id: str, source: str, target: str) -> int:
        """Give ``source``'s rows to ``target`` (a reader who signed in and claimed what
        their author token wrote); a row ``target`` has already (same kind and comment) is
        dropped. The number of rows moved."""
        ...
