"""Reading request input strictly: JSON bodies, query parameters, credentials."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request

from server.core.errors import Invalid, Malformed

_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_.:-]{8,100}")


async def json_object(request: Request, allowed: Iterable[str]) -> dict[str, Any]:
    """The request body as a JSON object with only the ``allowed`` keys."""
    ctype = request.headers.get("content-type", "")
    if ctype.split(";")[0].strip().lower() != "application/json":
        raise Malformed("unsupported_media_type", "send the body as application/json")
    try:
        raw = await request.body()
    except ClientDisconnect:
        # Gone mid-body (or cut off for sending it too slowly): nobody reads the answer, but
        # it is an answer, not an application error with a traceback.
        raise Malformed(
            "incomplete_body", "the connection closed before the body arrived"
        ) from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Malformed("malformed_json", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise Invalid("invalid_body_type", "the body must be a JSON object")
    unknown = set(data) - set(allowed)
    if unknown:
        raise Invalid("unknown_field", "unknown field(s): " + ", ".join(sorted(unknown))[:200])
    return data


def query(request: Request, name: str, *, required: bool = False) -> str | None:
    value = request.query_params.get(name)
    if value is None and required:
        raise Invalid(f"missing_{name}", f"the query parameter {name!r} is required")
    return value


def query_int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 18:
        raise Invalid(f"invalid_{name}", f"{name} must be a whole number >= 0")
    return int(raw)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Malformed("invalid_authorization", "use 'Authorization: Bearer <author token>'")
    return token.strip()


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise Invalid(
            "invalid_idempotency_key", "Idempotency-Key must be 8-100 letters, digits or '-_.:'"
        )
    if key.lower().startswith("import:"):
        # Imports key their rows this way; a reader must not claim one in advance.
        raise Invalid("invalid_idempotency_key", "Idempotency-Key must not start with 'import:'")
    return key
