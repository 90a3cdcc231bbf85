"""The one table from domain errors to HTTP statuses: core names what went wrong, only this
module knows what HTTP calls it."""

from __future__ import annotations

from server.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    Malformed,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)

BY_CLASS: dict[type[DomainError], int] = {
    Malformed: 400,
    Invalid: 422,
    NotFound: 404,
    Unauthorized: 401,
    Forbidden: 403,
    Conflict: 409,
    RateLimited: 429,
    Unavailable: 503,
}
# Codes HTTP has a more precise status for than their class's.
BY_CODE: dict[str, int] = {
    "unsupported_media_type": 415,
    "payload_too_large": 413,
    # A header that is not a bearer token at all: refused like a missing credential, but
    # without inviting one (no WWW-Authenticate), as it always was.
    "invalid_authorization": 401,
    # A reaction the site does not offer: a bad value, as the widget's contract has it.
    "invalid_reaction": 400,
}
DEFAULT = 400


def status_of(exc: DomainError) -> int:
    if exc.code in BY_CODE:
        return BY_CODE[exc.code]
    for cls in type(exc).__mro__:
        if cls in BY_CLASS:
            return BY_CLASS[cls]
    return DEFAULT


def headers_of(exc: DomainError) -> dict[str, str] | None:
    """What the status needs said along with it: when to retry, how to authenticate."""
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(int(exc.retry_after + 0.999))}  # whole seconds, rounded up
    if isinstance(exc, Unavailable):
        return {"Retry-After": "1"}
    if isinstance(exc, Unauthorized):
        return {"WWW-Authenticate": 'Bearer realm="threadline"'}
    return None
