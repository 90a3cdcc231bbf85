"""What a transaction offers to rank and position a thread's comments: ``order=best`` as of
a moment, pinned comments, and where a given comment sits (permalinks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from server.core.models import Comment


@dataclass(frozen=True, slots=True)
class RankingRow:
    """One visible, unpinned top-level comment of a page, and how many of each reaction it
    had at the moment asked about (empty when no moment was asked about)."""

    id: int
    created_at: int
    counts: dict[str, int]


class RankingTx(Protocol):
    """A page's top-level comments as keys to rank, its pinned comments, reply positions."""

    async def ranking_rows(self, page_id: int, at: int | None) -> list[RankingRow]:
        """Every visible (approved, or a deleted one with replies) unpinned top-level
        comment of the page, unordered. With ``at`` (ms), each with its count of each
        reaction as of that moment: a reaction counts when it was made at or before ``at``
        and not taken back by then (``removed_at`` NULL or after ``at``)."""
        ...

    async def pinned_comments(self, page_id: int, limit: int) -> list[Comment]:
        """The page's pinned comments, most recently pinned first."""
        ...

    async def count_pinned(self, page_id: int) -> int: ...

    async def replies_before(self, parent_id: int, created_at: int, comment_id: int) -> int:
        """How many published replies of ``parent_id`` come before the given one (oldest
        first: created_at, then id)."""
        ...

    async def replies_window(self, parent_id: int, skip: int, limit: int) -> list[Comment]:
        """Published replies of a comment, oldest first, from the ``skip``-th on: a deep
        permalink reads its own reply page, not every reply before it."""
        ...
