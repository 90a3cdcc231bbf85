"""JSON responses and the one place domain errors become HTTP errors."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from server.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)

STATUS: dict[type[DomainError], int] = {
    Invalid: 422,
    NotFound: 404,
    Unauthorized: 401,
    Forbidden: 403,
    Conflict: 409,
    RateLimited: 429,
    Unavailable: 503,
}


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSON:
    return JSON({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def status_of(exc: DomainError) -> int:
    explicit = getattr(exc, "status", None)  # transport-level errors carry their own
    if isinstance(explicit, int):
        return explicit
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def domain_error(exc: DomainError) -> JSON:
    headers = None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(int(exc.retry_after + 0.999))}
    elif isinstance(exc, Unavailable):
        headers = {"Retry-After": "1"}
    elif isinstance(exc, Unauthorized):
        headers = {"WWW-Authenticate": 'Bearer realm="threadline"'}
    return error(status_of(exc), exc.code, exc.message, headers)
