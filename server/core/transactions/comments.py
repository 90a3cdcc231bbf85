"""What a transaction offers on comments: writing them, and reading threads back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from server.core.cursors import Cursor
from server.core.models import Comment, Order, Page, Status


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
    verified: bool = False
    author_avatar: str | None = None


class CommentsTx(Protocol):
    """Comments one by one, by author, and as the pages of a thread."""

    async def find_comment(
        self, comment_id: int, *, for_update: bool = False
    ) -> Comment | None: ...
    async def find_comments(self, ids: Sequence[int]) -> dict[int, Comment]: ...
    async def find_comment_by_key(self, site_id: str, key: str) -> Comment | None: ...
    async def insert_comment(self, new: NewComment) -> Comment: ...
    async def update_comment(self, comment_id: int, **changes: Any) -> Comment: ...
    async def add_reply_count(self, comment_id: int, delta: int) -> None: ...
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

    async def author_known(self, site_id: str, author_hash: str) -> bool:
        """Whether this author token hash wrote any comment on the site."""
        ...

    async def author_comments(
        self, site_id: str, author_hash: str
    ) -> list[tuple[Comment, str]]: ...
    async def site_comments(self, site_id: str) -> list[Comment]: ...

    async def top_level(
        self, page_id: int, order: Order, after: Cursor | None, limit: int
    ) -> list[Comment]: ...
    async def first_replies(
        self, page_id: int, parent_ids: Sequence[int], limit_each: int
    ) -> dict[int, list[Comment]]: ...
    async def replies(self, parent: Comment, after: Cursor | None, limit: int) -> list[Comment]: ...
    async def newest_approved(
        self, site_id: str, page_id: int | None, limit: int
    ) -> list[tuple[Comment, Page]]:
        """The newest approved comments of a site, or of one page: for feeds."""
        ...
