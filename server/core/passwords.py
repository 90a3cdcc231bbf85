"""Moderator passwords: argon2id, with a cheap profile for tests only."""

from __future__ import annotations

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from server.core.errors import Invalid

MIN_LENGTH = 10
MAX_LENGTH = 1024


def hasher(profile: str = "default") -> PasswordHasher:
    if profile == "test":
        return PasswordHasher.from_parameters(profiles.CHEAPEST)
    # RFC 9106 low-memory profile: argon2id, t=3, m=64 MiB, p=4.
    return PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)


def check_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise Invalid("password_too_short", f"passwords need at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise Invalid("password_too_long", f"passwords may have at most {MAX_LENGTH} characters")
    return password


def verify(ph: PasswordHasher, stored: str, password: str) -> bool:
    try:
        return ph.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
