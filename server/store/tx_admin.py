"""Queries for moderation: moderators, sessions, audit log, bans, flags, the queue."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, or_, select, update

from server.core.models import (
    AuditEntry,
    Ban,
    Comment,
    Invitation,
    Moderator,
    Page,
    Role,
    Status,
)
from server.store.conn import Conn
from server.store.rows import comment_from_row
from server.store.schema import (
    audit_log,
    bans,
    comment_flags,
    comments,
    invitations,
    moderator_sites,
    moderators,
    pages,
    password_resets,
    sessions,
)

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
# Flag rows name who flagged: a keyed hash of the network, and the author token's hash.
NETWORK_FLAG, AUTHOR_FLAG = "ip:", "a:"
FORGOTTEN_FLAG = NETWORK_FLAG + "forgotten-"  # still a network's flag, no longer whose


class AdminQueries:
    conn: Conn
    dialect: str

    async def insert_audit(self, entry: AuditEntry) -> None:
        values = dataclasses.asdict(entry)
        del values["id"]
        await self.conn.execute(insert(audit_log).values(**values))

    # -- moderators ----------------------------------------------------------------------
    async def _moderator(self, where: Any) -> Moderator | None:
        row = (await self.conn.execute(select(moderators).where(where))).first()
        if row is None:
            return None
        grants = await self.conn.execute(
            select(moderator_sites.c.site_id, moderator_sites.c.role).where(
                moderator_sites.c.moderator_id == row.id
            )
        )
        return Moderator(
            id=row.id,
            email=row.email,
            password_hash=row.password_hash,
            sites={g.site_id: Role(g.role) for g in grants},
            display_name=row.display_name,
        )

    async def list_moderators(self) -> list[Moderator]:
        grants: dict[int, dict[str, Role]] = {}
        for g in await self.conn.execute(select(moderator_sites)):
            grants.setdefault(g.moderator_id, {})[g.site_id] = Role(g.role)
        rows = await self.conn.execute(select(moderators).order_by(moderators.c.email))
        return [
            Moderator(
                id=r.id,
                email=r.email,
                password_hash=r.password_hash,
                sites=grants.get(r.id, {}),
                display_name=r.display_name,
            )
            for r in rows
        ]

    async def find_moderator(self, email: str) -> Moderator | None:
        return await self._moderator(moderators.c.email == email)

    async def find_moderator_by_id(self, moderator_id: int) -> Moderator | None:
        return await self._moderator(moderators.c.id == moderator_id)

    async def insert_moderator(self, email: str, password_hash: str, now: int) -> Moderator:
        row = (
            await self.conn.execute(
                insert(moderators)
                .values(email=email, password_hash=password_hash, created_at=now)
                .returning(moderators.c.id)
            )
        ).one()
        return Moderator(id=row.id, email=email, password_hash=password_hash)

    async def set_password(self, moderator_id: int, password_hash: str) -> None:
        await self.conn.execute(
            update(moderators)
            .where(moderators.c.id == moderator_id)
            .values(password_hash=password_hash)
        )

    async def grant(self, moderator_id: int, site_id: str, role: Role) -> None:
        await self.conn.execute(
            delete(moderator_sites).where(
                moderator_sites.c.moderator_id == moderator_id, moderator_sites.c.site_id == site_id
            )
        )
        await self.conn.execute(
            insert(moderator_sites).values(
                moderator_id=moderator_id, site_id=site_id, role=role.value
            )
        )

    async def revoke(self, moderator_id: int, site_id: str) -> None:
        await self.conn.execute(
            delete(moderator_sites).where(
                moderator_sites.c.moderator_id == moderator_id, moderator_sites.c.site_id == site_id
            )
        )
        await self.drop_invitations_by(moderator_id, site_id)

    async def insert_session(self, token_hash: str, moderator_id: int, csrf: str, now: int) -> None:
        await self.conn.execute(
            insert(sessions).values(
                token_hash=token_hash,
                moderator_id=moderator_id,
                csrf=csrf,
                created_at=now,
                seen_at=now,
            )
        )

    async def find_session(self, token_hash: str) -> tuple[int, str, int, int] | None:
        row = (
            await self.conn.execute(select(sessions).where(sessions.c.token_hash == token_hash))
        ).first()
        return (row.moderator_id, row.csrf, row.created_at, row.seen_at) if row else None

    async def touch_session(self, token_hash: str, now: int) -> None:
        await self.conn.execute(
            update(sessions).where(sessions.c.token_hash == token_hash).values(seen_at=now)
        )

    async def delete_session(self, token_hash: str) -> None:
        await self.conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash))

    async def delete_sessions_of(self, moderator_id: int) -> int:
        result = await self.conn.execute(
            delete(sessions).where(sessions.c.moderator_id == moderator_id)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def delete_moderator(self, moderator_id: int) -> None:
        await self.conn.execute(delete(moderators).where(moderators.c.id == moderator_id))

    async def set_display_name(self, moderator_id: int, name: str | None) -> None:
        await self.conn.execute(
            update(moderators).where(moderators.c.id == moderator_id).values(display_name=name)
        )

    # -- password resets -----------------------------------------------------------------
    async def insert_password_reset(
        self, token_hash: str, moderator_id: int, now: int, expires_at: int
    ) -> None:
        await self.delete_password_resets(moderator_id)  # only the newest link works
        await self.conn.execute(
            insert(password_resets).values(
                token_hash=token_hash,
                moderator_id=moderator_id,
                created_at=now,
                expires_at=expires_at,
            )
        )

    async def find_password_reset(self, token_hash: str) -> tuple[int, int] | None:
        row = (
            await self.conn.execute(
                select(password_resets).where(password_resets.c.token_hash == token_hash)
            )
        ).first()
        return (row.moderator_id, row.expires_at) if row else None

    async def delete_password_resets(self, moderator_id: int) -> None:
        await self.conn.execute(
            delete(password_resets).where(password_resets.c.moderator_id == moderator_id)
        )

    async def purge_password_resets(self, now: int) -> int:
        result = await self.conn.execute(
            delete(password_resets).where(password_resets.c.expires_at <= now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def site_moderators(self, site_id: str) -> list[tuple[int, str, Role]]:
        q = (
            select(moderators.c.id, moderators.c.email, moderator_sites.c.role)
            .join(moderator_sites, moderator_sites.c.moderator_id == moderators.c.id)
            .where(moderator_sites.c.site_id == site_id)
            .order_by(moderators.c.email)
        )
        return [(r.id, r.email, Role(r.role)) for r in await self.conn.execute(q)]

    # -- invitations ---------------------------------------------------------------------
    async def insert_invitation(
        self,
        token_hash: str,
        site_id: str,
        email: str,
        role: Role,
        invited_by: int,
        now: int,
        expires_at: int,
    ) -> None:
        # One open invitation per address and site: inviting again replaces the link.
        await self.conn.execute(
            delete(invitations).where(
                invitations.c.site_id == site_id, invitations.c.email == email
            )
        )
        await self.conn.execute(
            insert(invitations).values(
                token_hash=token_hash,
                site_id=site_id,
                email=email,
                role=role.value,
                invited_by=invited_by,
                created_at=now,
                expires_at=expires_at,
            )
        )

    async def find_invitation(self, token_hash: str) -> Invitation | None:
        row = (
            await self.conn.execute(
                select(invitations).where(invitations.c.token_hash == token_hash)
            )
        ).first()
        return _invitation(row) if row else None

    async def delete_invitation(self, invitation_id: int, site_id: str) -> bool:
        result = await self.conn.execute(
            delete(invitations).where(
                invitations.c.id == invitation_id, invitations.c.site_id == site_id
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def site_invitations(self, site_id: str) -> list[Invitation]:
        rows = await self.conn.execute(
            select(invitations)
            .where(invitations.c.site_id == site_id)
            .order_by(invitations.c.email)
        )
        return [_invitation(r) for r in rows]

    async def purge_invitations(self, now: int) -> int:
        result = await self.conn.execute(delete(invitations).where(invitations.c.expires_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)

    async def drop_invitations_by(self, moderator_id: int, site_id: str) -> None:
        """An owner who loses a site takes back the invitations they sent for it."""
        await self.conn.execute(
            delete(invitations).where(
                invitations.c.invited_by == moderator_id, invitations.c.site_id == site_id
            )
        )

    # -- the queue -----------------------------------------------------------------------
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

    async def find_comments(self, ids: Sequence[int]) -> dict[int, Comment]:
        if not ids:
            return {}
        rows = await self.conn.execute(select(comments).where(comments.c.id.in_(list(ids))))
        return {r.id: comment_from_row(r) for r in rows}

    # -- flags ---------------------------------------------------------------------------
    async def add_flag(self, comment_id: int, network: str, author: str | None, now: int) -> int:
        """Count a flag once per network and once per author; returns the comment's flag
        count (the networks that flagged it)."""
        # The column holds 64 characters: 62 hex digits of an author hash are as unique.
        reporters = [NETWORK_FLAG + network] + ([AUTHOR_FLAG + author[:62]] if author else [])
        seen = (
            await self.conn.execute(
                select(func.count())
                .select_from(comment_flags)
                .where(
                    comment_flags.c.comment_id == comment_id,
                    comment_flags.c.reporter.in_(reporters),
                )
            )
        ).scalar_one()
        if not seen:
            await self.conn.execute(
                insert(comment_flags),
                [{"comment_id": comment_id, "reporter": r, "created_at": now} for r in reporters],
            )
        n = (
            await self.conn.execute(
                select(func.count())
                .select_from(comment_flags)
                .where(
                    comment_flags.c.comment_id == comment_id,
                    comment_flags.c.reporter.startswith(NETWORK_FLAG),
                )
            )
        ).scalar_one()
        await self.conn.execute(update(comments).where(comments.c.id == comment_id).values(flags=n))
        return int(n)

    async def remove_flag(self, comment_id: int, network: str, author: str | None, at: int) -> int:
        """Take back the flag this network (and author) raised at ``at``, if it is still
        there; returns the comment's flag count."""
        reporters = [NETWORK_FLAG + network] + ([AUTHOR_FLAG + author[:62]] if author else [])
        await self.conn.execute(
            delete(comment_flags).where(
                comment_flags.c.comment_id == comment_id,
                comment_flags.c.reporter.in_(reporters),
                comment_flags.c.created_at == at,
            )
        )
        n = (
            await self.conn.execute(
                select(func.count())
                .select_from(comment_flags)
                .where(
                    comment_flags.c.comment_id == comment_id,
                    comment_flags.c.reporter.startswith(NETWORK_FLAG),
                )
            )
        ).scalar_one()
        await self.conn.execute(update(comments).where(comments.c.id == comment_id).values(flags=n))
        return int(n)

    async def forget_flagger(self, author_hash: str) -> None:
        """Drop the rows naming this author as a flagger (counts come from networks)."""
        await self.conn.execute(
            delete(comment_flags).where(comment_flags.c.reporter == AUTHOR_FLAG + author_hash[:62])
        )

    async def purge_flag_networks(self, before: int) -> int:
        """Unlink flags older than ``before`` from the network that raised them: each keeps
        counting, under a random name that no network hashes to."""
        rows = (
            await self.conn.execute(
                select(comment_flags.c.comment_id, comment_flags.c.reporter).where(
                    comment_flags.c.reporter.startswith(NETWORK_FLAG),
                    ~comment_flags.c.reporter.startswith(FORGOTTEN_FLAG),
                    comment_flags.c.created_at < before,
                )
            )
        ).all()
        for comment_id, reporter in rows:
            await self.conn.execute(
                update(comment_flags)
                .where(
                    comment_flags.c.comment_id == comment_id,
                    comment_flags.c.reporter == reporter,
                )
                .values(reporter=FORGOTTEN_FLAG + secrets.token_hex(8))
            )
        return len(rows)

    async def author_known(self, site_id: str, author_hash: str) -> bool:
        q = (
            select(comments.c.id)
            .where(comments.c.site_id == site_id, comments.c.author_hash == author_hash)
            .limit(1)
        )
        return (await self.conn.execute(q)).first() is not None

    async def clear_flags(self, comment_id: int) -> None:
        await self.conn.execute(
            delete(comment_flags).where(comment_flags.c.comment_id == comment_id)
        )
        await self.conn.execute(update(comments).where(comments.c.id == comment_id).values(flags=0))

    # -- bans ----------------------------------------------------------------------------
    async def insert_ban(self, ban: Ban, moderator_id: int | None) -> int:
        values = dataclasses.asdict(ban)
        del values["id"]
        row = (
            await self.conn.execute(
                insert(bans).values(moderator_id=moderator_id, **values).returning(bans.c.id)
            )
        ).one()
        return int(row.id)

    async def list_bans(self, site_ids: Sequence[str]) -> list[Ban]:
        q = select(bans).where(bans.c.site_id.in_(list(site_ids))).order_by(bans.c.id.desc())
        return [_ban(r) for r in await self.conn.execute(q)]

    async def delete_ban(self, ban_id: int, site_ids: Sequence[str]) -> bool:
        result = await self.conn.execute(
            delete(bans).where(bans.c.id == ban_id, bans.c.site_id.in_(list(site_ids)))
        )
        return bool(getattr(result, "rowcount", 0))

    # -- audit ---------------------------------------------------------------------------
    async def latest_audit(self, comment_id: int) -> AuditEntry | None:
        row = (
            await self.conn.execute(
                select(audit_log)
                .where(audit_log.c.comment_id == comment_id)
                .order_by(audit_log.c.id.desc())
                .limit(1)
            )
        ).first()
        return None if row is None else _audit(row)

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
        return [(_audit(r), r.email) for r in await self.conn.execute(q)]

    # -- privacy -------------------------------------------------------------------------
    async def author_comments(self, site_id: str, author_hash: str) -> list[tuple[Comment, str]]:
        q = (
            select(comments, pages.c.key.label("p_key"))
            .join(pages, pages.c.id == comments.c.page_id)
            .where(comments.c.site_id == site_id, comments.c.author_hash == author_hash)
            .order_by(comments.c.id)
        )
        return [(comment_from_row(r), r.p_key) for r in await self.conn.execute(q)]

    async def site_pages(self, site_id: str) -> list[Page]:
        rows = await self.conn.execute(
            select(pages).where(pages.c.site_id == site_id).order_by(pages.c.id)
        )
        return [
            Page(
                id=r.id,
                site_id=r.site_id,
                key=r.key,
                url=r.url,
                title=r.title,
                seq=r.seq,
                count=r.comment_count,
            )
            for r in rows
        ]

    async def site_comments(self, site_id: str) -> list[Comment]:
        rows = await self.conn.execute(
            select(comments).where(comments.c.site_id == site_id).order_by(comments.c.id)
        )
        return [comment_from_row(r) for r in rows]

    async def purge_deleted_text(self, before: int) -> int:
        result = await self.conn.execute(
            update(comments)
            .where(
                comments.c.status == Status.DELETED.value,
                comments.c.deleted_at.is_not(None),
                comments.c.deleted_at < before,
            )
            .values(body="", author_name=None, deleted_at=None, deleted_from=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def purge_ip_hashes(self, before: int) -> int:
        result = await self.conn.execute(
            update(comments)
            .where(comments.c.ip_hash.is_not(None), comments.c.created_at < before)
            .values(ip_hash=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def purge_sessions(self, before: int) -> int:
        result = await self.conn.execute(delete(sessions).where(sessions.c.created_at < before))
        return int(getattr(result, "rowcount", 0) or 0)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _invitation(row: Any) -> Invitation:
    return Invitation(
        id=row.id,
        site_id=row.site_id,
        email=row.email,
        role=Role(row.role),
        invited_by=row.invited_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


def _audit(row: Any) -> AuditEntry:
    return AuditEntry(
        site_id=row.site_id,
        moderator_id=row.moderator_id,
        action=row.action,
        comment_id=row.comment_id,
        before_status=row.before_status,
        after_status=row.after_status,
        detail=row.detail,
        created_at=row.created_at,
        id=row.id,
    )


def _ban(row: Any) -> Ban:
    return Ban(
        id=row.id,
        site_id=row.site_id,
        author_hash=row.author_hash,
        ip_hash=row.ip_hash,
        mode=row.mode,
        reason=row.reason,
        created_at=row.created_at,
    )
