"""Author tokens: the pseudonymous identity that lets an author edit their own comments."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from server.core.errors import Unauthorized

_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


class AuthorTokens:
    """Issues tokens and hashes them; the store only ever sees the hash."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def issue(self, site_id: str, idempotency_key: str | None) -> str:
        """A new token. With an idempotency key it is derived, so a retried post gets the
        same token back even though only its hash was stored."""
        if idempotency_key is None:
            return secrets.token_urlsafe(32)
        msg = f"author-token\0{site_id}\0{idempotency_key}".encode()
        digest = hmac.new(self._secret, msg, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    @staticmethod
    def check_format(token: str) -> str:
        if not _TOKEN.fullmatch(token):
            raise Unauthorized("invalid_token", "author token is malformed")
        return token

    @staticmethod
    def hash(site_id: str, token: str) -> str:
        # Site-scoped so one browser's token cannot link its comments across sites.
        return hashlib.sha256(f"{site_id}:{token}".encode()).hexdigest()

    @staticmethod
    def matches(expected_hash: str | None, site_id: str, token: str) -> bool:
        if expected_hash is None:
            return False
        return hmac.compare_digest(expected_hash, AuthorTokens.hash(site_id, token))
