"""Author tokens: the pseudonymous identity that lets an author edit their own comments."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets

from server.core.errors import Unauthorized

_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
_HALF = 16  # bytes of nonce, then bytes of MAC: 32 bytes, 43 characters of base64url


class AuthorTokens:
    """Issues tokens and hashes them; the store only ever sees the hash.

    A token is a nonce and a MAC of it under the server's secret, so the server recognises
    the tokens it issued without storing them, and a made-up token counts for nothing
    (flags, for one). Tokens issued before the MAC existed are random; they are still
    recognised where their author is known by the comments they wrote."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def issue(self, site_id: str, idempotency_key: str | None = None, request: str = "") -> str:
        """A new token. With an idempotency key it is derived from the key and the request
        itself, so only a retry of the very same post gets the same token back (only its
        hash was stored); another request under the same key gets a token that is not the
        first author's."""
        if idempotency_key is None:
            nonce = secrets.token_bytes(_HALF)
        else:
            nonce = self._mac("author-token-nonce", site_id, idempotency_key, request)[:_HALF]
        raw = nonce + self._mac("author-token", site_id, nonce.hex())[:_HALF]
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def issued_here(self, site_id: str, token: str) -> bool:
        """Whether this server issued ``token`` for ``site_id`` (constant time)."""
        try:
            raw = base64.urlsafe_b64decode(token + "=")
        except (binascii.Error, ValueError):
            return False
        if len(raw) != 2 * _HALF:
            return False
        expected = self._mac("author-token", site_id, raw[:_HALF].hex())[:_HALF]
        return hmac.compare_digest(raw[_HALF:], expected)

    def _mac(self, *parts: str) -> bytes:
        return hmac.new(self._secret, "\0".join(parts).encode(), hashlib.sha256).digest()

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
