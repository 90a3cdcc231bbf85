"""A transaction's queries on the audit log."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy import insert, select

from server.core.models import AuditEntry
from server.core.transactions.moderation import AuditTx
from server.store.connection import Connection
from server.store.rows import audit_from_row
from server.store.schema import audit_log, moderators


class AuditQueries(AuditTx):
    """Who decided what, newest first."""

    conn: Connection

    async def insert_audit(self, entry: AuditEntry) -> None:
        values = dataclasses.asdict(entry)
        del values["id"]
        await self.conn.execute(insert(audit_log).values(**values))

    async def latest_audit(self, comment_id: int) -> AuditEntry | None:
        row = (
            await self.conn.execute(
                select(audit_log)
                .where(audit_log.c.comment_id == comment_id)
                .order_by(audit_log.c.id.desc())
                .limit(1)
            )
        ).first()
        return None if row is None else audit_from_row(row)

    async def audit_entries(
        self,
        site_ids: Sequence[str],
        *,
        action: str | None,
        moderator: str | None,
        comment_id: int | None,
        limit: int,
        offset: int,
    ) -> list[tuple[AuditEntry, str | None]]:
        q = (
            select(audit_log, moderators.c.email)
            .join(moderators, moderators.c.id == audit_log.c.moderator_id, isouter=True)
            .where(audit_log.c.site_id.in_(list(site_ids)))
        )
        if action:
            q = q.where(audit_log.c.action == action)
        if moderator:
            q = q.where(moderators.c.email == moderator)
        if comment_id:
            q = q.where(audit_log.c.comment_id == comment_id)
        q = q.order_by(audit_log.c.id.desc()).limit(limit).offset(offset)
        return [(audit_from_row(r), r.email) for r in await self.conn.execute(q)]
