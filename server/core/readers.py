"""Who a request's credential names: an anonymous author token, or the session of a reader
the site signed in (single sign-on). Either way an author hash, which every comment, flag
and ban of theirs carries."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from server.core.authors import AuthorTokens
from server.core.errors import Unauthorized
from server.core.sso_tokens import Sessions, looks_like_session


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


def author_hash_of(secret: str, site_id: str, token: str | None, now_ms: int) -> str:
    """The author hash a credential stands for; refused when there is none or it is bad."""
    if token is None:
        raise Unauthorized(
            "token_required", "send your author token or session as 'Authorization: Bearer'"
        )
    if looks_like_session(token):
        return sessions(secret).open(site_id, token, now_ms)
    return AuthorTokens.hash(site_id, AuthorTokens.check_format(token))
