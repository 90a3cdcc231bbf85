"""Spam guards beyond rate limits: a signed form token that times the submission, a
honeypot field only bots fill in, and duplicate detection."""

from __future__ import annotations

import hashlib
import hmac

FORM_TOKEN_TTL = 86_400_000  # ms: older tokens are ignored, not refused
DUPLICATE_WINDOW = 10 * 60 * 1000  # ms: the same text again within this is a duplicate


def form_token(secret: str, site_id: str, now_ms: int) -> str:
    """Issued with the thread listing; sent back with the post to time it."""
    mac = hmac.new(secret.encode(), f"form:{site_id}:{now_ms}".encode(), hashlib.sha256)
    return f"{now_ms}.{mac.hexdigest()[:32]}"


def form_age_ms(secret: str, site_id: str, token: object, now_ms: int) -> int | None:
    """How long the reader had the form, or None when the token is missing or forged."""
    if not isinstance(token, str) or len(token) > 64 or "." not in token:
        return None
    issued, _, mac = token.partition(".")
    if not issued.isdigit():
        return None
    expected = form_token(secret, site_id, int(issued)).partition(".")[2]
    if not hmac.compare_digest(mac, expected):
        return None
    age = now_ms - int(issued)
    return age if 0 <= age <= FORM_TOKEN_TTL else None


def honeypot_filled(value: object) -> bool:
    """The widget's hidden 'website' field: people never see it, form-filling bots do."""
    return isinstance(value, str) and value.strip() != ""
