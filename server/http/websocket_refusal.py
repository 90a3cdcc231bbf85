"""Refusing a websocket handshake: one answer for the readers' and the moderators' sockets."""

from __future__ import annotations

from typing import NamedTuple

from starlette.websockets import WebSocket

from server.core.errors import DomainError
from server.http.responses import domain_error, error

POLICY_VIOLATION = 1008  # the close code when the server cannot send an HTTP refusal


class Refusal(NamedTuple):
    """A refusal of the transport's own, not a domain error (a bad version, no session)."""

    status: int
    code: str
    message: str


async def refuse_websocket(ws: WebSocket, refusal: DomainError | Refusal) -> None:
    """Refuse before accepting: an HTTP status with the JSON error body the HTTP API sends
    (browsers see only a failed connection; tools and tests see why)."""
    if isinstance(refusal, DomainError):
        response = domain_error(refusal)
    else:
        response = error(refusal.status, refusal.code, refusal.message)
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        await ws.send_denial_response(response)
    else:  # pragma: no cover -- every server we run supports the denial extension
        await ws.close(POLICY_VIOLATION)
