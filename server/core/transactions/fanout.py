"""A transaction's view of the comments still to tell readers about (issue #18)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from server.core.models import Status


class Published(Protocol):
    """A comment as the fan-out reads it: a ``Comment``, or the lighter ``Told``."""

    @property
    def id(self) -> int: ...
    @property
    def site_id(self) -> str: ...
    @property
    def page_id(self) -> int: ...
    @property
    def parent_id(self) -> int | None: ...
    @property
    def reply_to_id(self) -> int | None: ...
    @property
    def author_hash(self) -> str | None: ...
    @property
    def moderator(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Told:
    """What the fan-out needs of a comment: whose it is, where, what it answers and whose
    those are."""

    id: int
    site_id: str
    page_id: int
    parent_id: int | None
    reply_to_id: int | None
    author_hash: str | None
    moderator: bool
    status: Status
    created_at: int
    parent_author: str | None  # who wrote the comment it hangs under
    quoted_author: str | None  # and the reply it answers

    def answered_authors(self) -> dict[int, str | None]:
        """The comments it answers, with their authors."""
        found: dict[int, str | None] = {}
        if self.parent_id is not None:
            found[self.parent_id] = self.parent_author
        if self.reply_to_id is not None:
            found[self.reply_to_id] = self.quoted_author
        return found


@dataclass(frozen=True, slots=True)
class FanOutPage:
    """A page the fan-out holds: its events after ``after`` up to ``upto`` are to read."""

    page_id: int
    after: int
    upto: int


class FanOutTx(Protocol):
    """Each page's fan-out cursor: the ``seq`` up to which its events were told."""

    async def lagging_pages(self, limit: int) -> list[int]:
        """Up to ``limit`` pages with events after their cursor (none yet: every event)."""
        ...

    async def pages_posted_after(self, event_id: int | None, limit: int) -> tuple[int, list[int]]:
        """The newest event id, and (unless ``event_id`` is None) the pages behind their
        cursor with a post among the events after ``event_id - limit``: a cheap look, by the
        events' primary key, for what other processes and commands stored (an id taken
        before ``event_id`` may commit after it)."""
        ...

    async def claim_fanout(self, page_ids: Sequence[int]) -> list[FanOutPage]:
        """These pages' cursors (made at 0 where missing) and current ``seq``; on PostgreSQL
        locked until commit, skipping any another process holds (two processes never read
        one page's events at once)."""
        ...

    async def published_between(
        self, page_id: int, after: int, upto: int, limit: int
    ) -> list[tuple[int, Told]]:
        """Up to ``limit`` comments posted on the page (``comment.created``) with ``seq``
        in (after, upto], oldest first, each with its ``seq``, as they are now."""
        ...

    async def advance_fanout(self, cursors: dict[int, int]) -> None:
        """Move each page's cursor (page id -> seq)."""
        ...

    async def lock_fanout(self, page_ids: Sequence[int]) -> None:
        """Share-lock these pages' cursors until commit (made at 0 where missing): a fan-out
        of them under way commits first, and none claims them meanwhile. What withdraws a
        comment from readers (an author's delete, an erasure) takes this before any comment
        lock, so what it withdraws is never told after it."""
        ...
