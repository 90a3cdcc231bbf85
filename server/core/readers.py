"""Who a request's credential names: an anonymous author token, or the session of a reader
the site signed in (single sign-on). Either way an author hash, which every comment, flag
and ban of theirs carries."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from server.core.authors import AuthorTokens
from server.core.errors import Unauthorized
from server.core.models import Identity, Site, SsoPolicy
from server.core.sso_tokens import Sessions, looks_like_session
from server.core.transactions.identities import IdentitiesTx


@lru_cache(maxsize=4)
def sessions(secret: str) -> Sessions:
    return Sessions(secret)


def identity_hash(secret: str, site_id: str, subject: str) -> str:
    """The author hash of a site's user: keyed with the server's secret, so neither it nor
    anything derived from it (a comment's ``author_key``) leads back to the user id."""
    message = f"sso-identity\0{site_id}\0{subject}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def is_session(token: str | None) -> bool:
    return token is not None and looks_like_session(token)


async def session_identity(
    tx: IdentitiesTx, secret: str, site: Site, session: str, now_ms: int
) -> Identity:
    """The identity a session names, while the session holds: unexpired, of this site's
    current sign-in epoch (a removed key or sign-in turned off ends it), the very row it
    began with (an erased reader's old sessions do not come back when they sign in again)."""
    claims = sessions(secret).open(site.id, session, now_ms)
    ended = Unauthorized("session_expired", "your session has ended: sign in again")
    if site.sso.policy is SsoPolicy.ANONYMOUS or claims.epoch != site.sso.epoch:
        raise ended
    identity = await tx.identity_by_id(claims.identity_id)
    if identity is None or identity.site_id != site.id or identity.created_at != claims.born:
        raise ended
    if claims.since < identity.sessions_from:  # the reader signed out since
        raise ended
    return identity


async def author_hash_of(
    tx: IdentitiesTx, secret: str, site: Site, token: str | None, now_ms: int
) -> str:
    """The author hash a credential stands for; refused when there is none or it is bad."""
    if token is None:
        raise Unauthorized(
            "token_required", "send your author token or session as 'Authorization: Bearer'"
        )
    if looks_like_session(token):
        return (await session_identity(tx, secret, site, token, now_ms)).author_hash
    return AuthorTokens.hash(site.id, AuthorTokens.check_format(token))
