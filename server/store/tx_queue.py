"""A transaction's queries for the moderation queue: its tabs, and how full each is."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, or_, select

from server.core.models import Comment, Page, Status
from server.core.transactions.moderation import QueueTx
from server.store.connection import Connection
from server.store.rows import comment_from_row
from server.store.schema import comments, pages

# The moderation tabs, as conditions on comments.
TABS: dict[str, ColumnElement[bool]] = {
    "pending": comments.c.status == Status.PENDING.value,
    "flagged": (comments.c.flags > 0)
    & comments.c.status.in_([Status.APPROVED.value, Status.PENDING.value]),
    "approved": comments.c.status == Status.APPROVED.value,
    "rejected": comments.c.status == Status.REJECTED.value,
    "spam": comments.c.status == Status.SPAM.value,
    # Only what a moderator deleted and can still restore (its text is kept until then).
    "deleted": (comments.c.status == Status.DELETED.value) & comments.c.deleted_at.is_not(None),
}
OLDEST_FIRST = ("pending", "flagged")  # a queue is worked from its oldest item

c = comments.c


class QueueQueries(QueueTx):
    """Comments by moderation tab, searched and counted."""

    conn: Connection

    async def queue_items(
        self, site_ids: Sequence[str], tab: str, search: str | None, limit: int, offset: int
    ) -> list[tuple[Comment, Page]]:
        q = (
            select(comments, *[col.label(f"p_{col.name}") for col in pages.c])
            .join(pages, pages.c.id == comments.c.page_id)
            .where(comments.c.site_id.in_(list(site_ids)), TABS[tab])
        )
        if search:
            like = "%" + _escape_like(search) + "%"
            q = q.where(
                or_(
                    comments.c.body.ilike(like, escape="\\"),
                    comments.c.author_name.ilike(like, escape="\\"),
                    pages.c.key.ilike(like, escape="\\"),
                    pages.c.title.ilike(like, escape="\\"),
                )
            )
        key = (comments.c.created_at, comments.c.id)
        q = q.order_by(*key) if tab in OLDEST_FIRST else q.order_by(*(k.desc() for k in key))
        out = []
        for row in await self.conn.execute(q.limit(limit).offset(offset)):
            page = Page(
                id=row.p_id,
                site_id=row.p_site_id,
                key=row.p_key,
                url=row.p_url,
                title=row.p_title,
                seq=row.p_seq,
                count=row.p_comment_count,
            )
            out.append((comment_from_row(row), page))
        return out

    async def queue_counts(self, site_ids: Sequence[str]) -> dict[str, int]:
        where = comments.c.site_id.in_(list(site_ids))
        counts = {tab: 0 for tab in TABS}
        q = select(comments.c.status, func.count()).where(where).group_by(comments.c.status)
        for status, n in await self.conn.execute(q):
            if status in counts:
                counts[status] = n
        for tab in ("flagged", "deleted"):  # not one status each
            n = select(func.count()).select_from(comments).where(where, TABS[tab])
            counts[tab] = (await self.conn.execute(n)).scalar_one()
        return counts

    async def status_counts(self) -> list[tuple[str, str, int]]:
        by_status = select(c.site_id, c.status, func.count()).group_by(c.site_id, c.status)
        flagged = select(c.site_id, func.count()).where(TABS["flagged"]).group_by(c.site_id)
        out = [(site, status, n) for site, status, n in await self.conn.execute(by_status)]
        out += [(site, "flagged", n) for site, n in await self.conn.execute(flagged)]
        return out


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
