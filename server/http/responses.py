"""JSON responses, and the JSON shape of every error: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from server.core.errors import DomainError
from server.http.statuses import headers_of, status_of


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSON:
    return JSON({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def domain_error(exc: DomainError, headers: dict[str, str] | None = None) -> JSON:
    """A refusal in JSON, with its status from the one table (and ``headers`` added)."""
    merged = {**(headers_of(exc) or {}), **(headers or {})}
    return error(status_of(exc), exc.code, exc.message, merged or None)
