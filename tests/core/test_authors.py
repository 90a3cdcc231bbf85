"""Author tokens: the server recognises its own, and only for the site it issued them to."""

from __future__ import annotations

import secrets

from server.core.authors import AuthorTokens

SECRET = "a-secret-key-that-is-long-enough-for-tests-0123"


def test_issued_tokens_are_recognised_for_their_site_only() -> None:
    tokens = AuthorTokens(SECRET)
    token = tokens.issue("blog")
    assert AuthorTokens.check_format(token) == token
    assert tokens.issued_here("blog", token)
    assert not tokens.issued_here("shop", token)
    assert not AuthorTokens(SECRET + "x").issued_here("blog", token)


def test_made_up_and_tampered_tokens_are_not_recognised() -> None:
    tokens = AuthorTokens(SECRET)
    assert not tokens.issued_here("blog", secrets.token_urlsafe(32))
    token = tokens.issue("blog")
    flipped = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    assert not tokens.issued_here("blog", flipped)
    assert not tokens.issued_here("blog", "not base64 at all!")


def test_idempotent_tokens_follow_the_request_not_only_the_key() -> None:
    tokens = AuthorTokens(SECRET)
    first = tokens.issue("blog", "key-0001", "p\0hello")
    assert tokens.issue("blog", "key-0001", "p\0hello") == first
    assert tokens.issue("blog", "key-0001", "p\0goodbye") != first
    assert tokens.issued_here("blog", first)
