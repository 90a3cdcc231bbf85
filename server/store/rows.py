"""Rows to domain objects and back."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Row

from server.core.models import (
    AuditEntry,
    Ban,
    Comment,
    Filters,
    Identity,
    Invitation,
    Mode,
    Notify,
    Page,
    ReactionKind,
    ReactionSet,
    Role,
    Site,
    Sso,
    SsoKey,
    SsoPolicy,
    Status,
)

DEFAULT_FILTERS = Filters()


def site_from_row(row: Row[Any]) -> Site:
    filters = orjson.loads(row.filters or "{}")
    notify = orjson.loads(row.notify or "{}")
    sso = orjson.loads(row.sso or "{}")
    return Site(
        id=row.id,
        name=row.name,
        origins=tuple(orjson.loads(row.origins)),
        moderation=Mode(row.moderation),
        filters=Filters(
            banned_words=tuple(filters.get("banned_words", ())),
            suspect_words=tuple(filters.get("suspect_words", ())),
            max_links=int(filters.get("max_links", DEFAULT_FILTERS.max_links)),
            flag_threshold=int(filters.get("flag_threshold", DEFAULT_FILTERS.flag_threshold)),
        ),
        created_at=row.created_at,
        notify=Notify(
            webhook_url=notify.get("webhook_url"),
            webhook_secret=notify.get("webhook_secret"),
            emails=tuple(notify.get("emails", ())),
        ),
        sso=Sso(
            policy=SsoPolicy(sso.get("policy", SsoPolicy.ANONYMOUS.value)),
            moderators=bool(sso.get("moderators", False)),
            epoch=int(sso.get("epoch", 0)),
        ),
        reactions=reaction_set_from_json(row.reactions),
    )


def site_values(site: Site) -> dict[str, Any]:
    return {
        "id": site.id,
        "name": site.name,
        "origins": orjson.dumps(list(site.origins)).decode(),
        "moderation": site.moderation.value,
        "filters": orjson.dumps(site.filters.as_dict()).decode(),
        "notify": orjson.dumps(site.notify.as_dict()).decode(),
        "sso": orjson.dumps(site.sso.as_dict()).decode(),
        "reactions": orjson.dumps(site.reactions.as_dict()).decode(),
        "created_at": site.created_at,
    }


def page_from_row(row: Row[Any]) -> Page:
    return Page(
        id=row.id,
        site_id=row.site_id,
        key=row.key,
        url=row.url,
        title=row.title,
        seq=row.seq,
        count=row.comment_count,
    )


def comment_from_row(row: Row[Any]) -> Comment:
    return Comment(
        id=row.id,
        site_id=row.site_id,
        page_id=row.page_id,
        parent_id=row.parent_id,
        reply_to_id=row.reply_to_id,
        author_name=row.author_name,
        author_hash=row.author_hash,
        body=row.body,
        status=Status(row.status),
        moderator=bool(row.moderator),
        created_at=row.created_at,
        edited_at=row.edited_at,
        reply_count=row.reply_count,
        held_reason=row.held_reason,
        flags=row.flags,
        ip_hash=row.ip_hash,
        deleted_at=row.deleted_at,
        deleted_from=Status(row.deleted_from) if row.deleted_from else None,
        verified=bool(row.verified),
        author_avatar=row.author_avatar,
        reaction_counts=reaction_counts_from_json(row.reaction_counts),
        pinned_at=row.pinned_at,
    )


def reaction_counts_from_json(text: str | None) -> tuple[tuple[str, int], ...]:
    """Totals as stored (written in the site's order of choices, zero counts left out)."""
    if not text or text == "{}":  # most comments: no parse
        return ()
    return tuple((str(k), int(v)) for k, v in orjson.loads(text).items() if v)


def reaction_counts_json(counts: tuple[tuple[str, int], ...]) -> str:
    return orjson.dumps({k: v for k, v in counts if v}).decode()


def reaction_set_from_json(text: str | None) -> ReactionSet:
    data = orjson.loads(text or "{}")
    return ReactionSet(
        kind=ReactionKind(data.get("kind", ReactionKind.UPDOWN.value)),
        emoji=tuple(data.get("emoji", ())),
    )


def identity_from_row(row: Row[Any]) -> Identity:
    return Identity(
        id=row.id,
        site_id=row.site_id,
        subject=row.subject,
        author_hash=row.author_hash,
        name=row.name,
        avatar=row.avatar,
        moderator=bool(row.moderator),
        created_at=row.created_at,
        seen_at=row.seen_at,
        sessions_from=row.sessions_from,
    )


def sso_key_from_row(row: Row[Any]) -> SsoKey:
    return SsoKey(
        site_id=row.site_id,
        kid=row.kid,
        algorithm=row.algorithm,
        material=row.material,
        created_at=row.created_at,
    )


def invitation_from_row(row: Row[Any]) -> Invitation:
    return Invitation(
        id=row.id,
        site_id=row.site_id,
        email=row.email,
        role=Role(row.role),
        invited_by=row.invited_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


def audit_from_row(row: Row[Any]) -> AuditEntry:
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


def ban_from_row(row: Row[Any]) -> Ban:
    return Ban(
        id=row.id,
        site_id=row.site_id,
        author_hash=row.author_hash,
        ip_hash=row.ip_hash,
        mode=row.mode,
        reason=row.reason,
        created_at=row.created_at,
    )
