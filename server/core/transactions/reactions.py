"""What a transaction offers on readers' reactions: one live row per reader and comment,
the history of changed and taken-back ones (kept a day), and each comment's totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# Totals as comments carry them: (reaction, count) pairs, count > 0, in the site's order.
Totals = tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class LiveReaction:
    """A live reaction row: whose (``voter``), from which network (anonymous readers), what."""

    voter: str
    network: str | None
    kind: str


@dataclass(frozen=True, slots=True)
class NewReaction:
    site_id: str
    page_id: int
    comment_id: int
    voter: str
    network: str | None
    kind: str
    created_at: int


class ReactionsTx(Protocol):
    """Reactions and the totals kept beside each comment."""

    async def live_reactions(
        self, comment_id: int, voter: str, network: str | None
    ) -> list[LiveReaction]:
        """The live rows of ``comment_id`` by ``voter`` or, when given, from ``network``."""
        ...

    async def add_reaction(self, new: NewReaction) -> bool:
        """Insert a live row; False (nothing written) when a live row of the same voter, or
        of the same network, already holds the comment: a concurrent request won."""
        ...

    async def remove_reaction(self, comment_id: int, voter: str, now: int) -> str | None:
        """Stamp the voter's live row on the comment removed; the kind it had, or None."""
        ...

    async def recount_reactions(self, comment_id: int, choices: Sequence[str]) -> Totals:
        """Count the comment's live rows by kind into its totals (only ``choices``, in
        their order) and return them."""
        ...

    async def set_reactions(
        self, site_id: str, page_id: int, comment_id: int, totals: Totals, at: int
    ) -> None:
        """Restore imported totals: anonymous live rows (no voter anyone can be, no
        network), so a later reaction counts on top of them and rankings see them."""
        ...

    async def my_reactions(
        self, site_id: str, page_id: int, voter: str, limit: int
    ) -> list[tuple[int, str]]:
        """(comment id, kind) of the voter's live rows on a page, newest first."""
        ...

    async def reaction_totals(self, comment_ids: Sequence[int]) -> dict[int, Totals]:
        """The stored totals of those comments that readers can see (approved), in one
        read; the others are left out."""
        ...

    async def delete_reactions_of(self, site_id: str, voter: str) -> list[tuple[int, int]]:
        """Delete every row of the voter on the site, live or not; (comment id, page id) of
        the comments that had a live one."""
        ...
