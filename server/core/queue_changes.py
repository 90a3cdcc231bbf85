"""Queue changes as observers receive them: each with the comment it answers, read inside
the write, so the live queue shows the reply's context without reading anything itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from server.core.models import Comment, Page, QueueChange, Status


class CommentReader(Protocol):
    """All a queue change reads: any transaction of the write that made it will do."""

    async def find_comments(self, ids: Sequence[int]) -> dict[int, Comment]: ...


async def queue_change(
    tx: CommentReader,
    site_id: str,
    comment: Comment,
    page: Page,
    before: Status | None,
    by: str | None = None,
) -> QueueChange:
    """One change; read after the transaction's last write of the answered comment."""
    (change,) = await with_replies(tx, [QueueChange(site_id, comment, page, before, by)])
    return change


async def with_replies(tx: CommentReader, changes: list[QueueChange]) -> list[QueueChange]:
    """``changes`` with the comments they answer as they are now. Called after the
    transaction's last write: a comment erased in it must show erased, never its old text."""
    answered = {c.comment.id: ref for c in changes if (ref := _answered_id(c.comment))}
    if not answered:
        return changes
    found = await tx.find_comments(sorted(set(answered.values())))
    return [
        replace(c, replying_to=found.get(answered[c.comment.id])) if c.comment.id in answered else c
        for c in changes
    ]


def _answered_id(comment: Comment) -> int | None:
    # A reply to a reply names the comment it answers; the thread root is its parent.
    return comment.reply_to_id or comment.parent_id
