"""Single sign-on readers: a site's token exchanged for a session, and the anonymous
comments a reader wrote on this browser before signing in attached to their identity
(explicitly, by the reader; a moderator can give them back)."""

from __future__ import annotations

from dataclasses import dataclass

from server.core import audit
from server.core.authority import require_moderator
from server.core.authors import AuthorTokens
from server.core.context import Services
from server.core.errors import Forbidden, Invalid, NotFound, Unauthorized
from server.core.events import edited
from server.core.models import (
    Comment,
    Event,
    Identity,
    Moderator,
    QueueChange,
    Site,
    SsoPolicy,
    Status,
    author_key,
)
from server.core.names import name_keys
from server.core.privacy import ip_hash
from server.core.readers import identity_hash, is_session, session_identity, sessions
from server.core.sso_tokens import SessionClaims, read_site_token
from server.core.transactions.identities import Claim, NewIdentity

SIGN_INS_PER_MINUTE = 30  # per network: each one verifies a signature and writes a row
CLAIMS_PER_MINUTE = 10
CLAIMABLE = (Status.APPROVED, Status.PENDING)


@dataclass(frozen=True, slots=True)
class SignedIn:
    session: str
    expires_at: int
    identity: Identity
    claimable: int


def identity_public(identity: Identity) -> dict[str, object]:
    """What the reader's own widget shows of them."""
    return {
        "name": identity.name,
        "avatar": identity.avatar,
        "moderator": identity.moderator,
        "author_key": author_key(identity.author_hash),
    }


async def sign_in(
    svc: Services, site: Site, token: object, *, author_token: object, client_ip: str
) -> SignedIn:
    """Exchange the site's token for a session; say how many comments this browser's
    anonymous author token wrote that the reader may attach to their identity."""
    if site.sso.policy is SsoPolicy.ANONYMOUS:
        raise Forbidden("sso_not_enabled", f"site {site.id!r} does not sign readers in")
    await svc.check_rate(
        f"signin:{site.id}:{ip_hash(svc.secret, client_ip)}", SIGN_INS_PER_MINUTE, 60, "sign-ins"
    )
    anonymous = _anonymous_author(site, author_token) if author_token is not None else None
    now = svc.now_ms()
    async with svc.store.read() as tx:
        keys = await tx.sso_keys(site.id)
    reader = read_site_token(site, keys, token, secret=svc.secret, now_ms=now)
    author_hash = identity_hash(svc.secret, site.id, reader.subject)
    async with svc.store.write() as tx:
        identity = await tx.save_identity(
            NewIdentity(
                site_id=site.id,
                subject=reader.subject,
                author_hash=author_hash,
                name=reader.name,
                avatar=reader.avatar,
                moderator=reader.moderator,
                name_keys=name_keys(reader.name),
            ),
            now,
        )
        claimable = 0
        if anonymous is not None:
            claimable = len(_claimable(await tx.author_comments(site.id, anonymous)))
    session, expires = sessions(svc.secret).issue(
        site.id, SessionClaims(identity.id, identity.created_at, site.sso.epoch), now
    )
    return SignedIn(session, expires, identity, claimable)


def _anonymous_author(site: Site, author_token: object) -> str:
    if not isinstance(author_token, str) or is_session(author_token):
        raise Invalid("invalid_author_token", "author_token must be this browser's author token")
    return AuthorTokens.hash(site.id, AuthorTokens.check_format(author_token))


def _claimable(found: list[tuple[Comment, str]]) -> list[Comment]:
    return [comment for comment, _ in found if comment.status in CLAIMABLE]


async def sign_out(svc: Services, site: Site, session: str | None) -> None:
    """End the reader's sessions (this one and any other begun before it), on the server:
    a copy of one left in a page's memory is worth nothing after a sign-out."""
    if session is None or not is_session(session):
        raise Unauthorized("session_required", "send the session to end as Bearer")
    async with svc.store.write() as tx:
        identity = await session_identity(tx, svc.secret, site, session, svc.now_ms())
        await tx.end_sessions(identity.id, svc.now_ms() + 1)


async def claim_comments(
    svc: Services, site: Site, session: str | None, author_token: object, *, client_ip: str
) -> int:
    """Attach what this browser's author token wrote here (published or held) to the
    signed-in reader: their name, avatar and verified mark, live on every open page."""
    await svc.check_rate(
        f"claim:{site.id}:{ip_hash(svc.secret, client_ip)}", CLAIMS_PER_MINUTE, 60, "claims"
    )
    if session is None or not is_session(session):
        raise Unauthorized("session_required", "sign in first: send your session as Bearer")
    anonymous = _anonymous_author(site, author_token)
    now = svc.now_ms()
    events: list[Event] = []
    changes: list[QueueChange] = []
    async with svc.store.write() as tx:
        identity = await session_identity(tx, svc.secret, site, session, now)
        found: list[Comment] = []
        for listed in _claimable(await tx.author_comments(site.id, anonymous)):
            # Locked, and read again: an erasure or another claim may have taken it since.
            comment = await tx.find_comment(listed.id, for_update=True)
            if comment is None or comment.author_hash != anonymous:
                continue
            if comment.status not in CLAIMABLE:
                continue
            found.append(comment)
            await tx.insert_claim(
                site.id,
                Claim(comment.id, identity.author_hash, anonymous, comment.author_name, now),
            )
            updated = await tx.update_comment(
                comment.id,
                author_hash=identity.author_hash,
                author_name=identity.name,
                verified=True,
                author_avatar=identity.avatar,
            )
            if comment.status is Status.APPROVED:
                events.append(await edited(tx, updated, now))
            else:
                page = await tx.find_page_by_id(comment.page_id)
                assert page is not None
                changes.append(QueueChange(site.id, updated, page, comment.status))
        if found:
            # No name here: the audit log outlives an erasure of the reader.
            await audit.record(tx, site.id, None, "claim", f"{len(found)} comment(s)", now)
        # What the token was told is the signed-in reader's now: their bell shows it, and
        # erasing them erases it.
        moved = await tx.move_notifications(site.id, anonymous, identity.author_hash)
    await svc.publish(events)
    if moved:
        await svc.notifications_changed(site.id, [identity.author_hash, anonymous])
    for change in changes:
        await svc.queue_changed(change)
    return len(found)


async def undo_claims(svc: Services, site: Site, comment_id: int, *, by: Moderator) -> int:
    """Give back to their anonymous author every comment claimed by the identity that
    claimed this one, as they were written."""
    require_moderator(by, site.id)
    now = svc.now_ms()
    events: list[Event] = []
    changes: list[QueueChange] = []
    async with svc.store.write() as tx:
        comment = await tx.find_comment(comment_id, for_update=True)
        if comment is None or comment.site_id != site.id or comment.author_hash is None:
            raise NotFound("comment_not_found", "no such comment on this site")
        claims = await tx.claims_of(site.id, comment.author_hash)
        if not claims:
            raise NotFound("no_claims", "this reader claimed no anonymous comments")
        for claim in claims:
            before = await tx.find_comment(claim.comment_id, for_update=True)
            if before is None:
                continue
            deleted = before.status is Status.DELETED
            given_back = await tx.update_comment(
                claim.comment_id,
                author_hash=claim.author_hash,
                author_name=None if deleted else claim.author_name,
                verified=False,
                author_avatar=None,
            )
            if before.status is Status.APPROVED:
                events.append(await edited(tx, given_back, now))
            else:
                page = await tx.find_page_by_id(before.page_id)
                assert page is not None
                changes.append(QueueChange(site.id, given_back, page, before.status))
        await tx.delete_claims([claim.comment_id for claim in claims])
        await audit.record(tx, site.id, by, "unclaim", f"{len(claims)} comment(s) given back", now)
    await svc.publish(events)
    for change in changes:
        await svc.queue_changed(change)
    return len(claims)
