"""/moderate/ws: the moderators' live queue, for a logged-in session on our own origin."""

from __future__ import annotations

import time

import orjson
from starlette.datastructures import QueryParams
from starlette.websockets import WebSocket

from server.core.accounts import session_by_hash
from server.core.context import Services
from server.core.errors import DomainError
from server.core.models import Moderator
from server.core.queue import sites_for, view_queue_for
from server.http.websocket_refusal import Refusal, refuse_websocket
from server.live.connection import open_live_connection
from server.live.frames import Close
from server.live.moderation_queue import ModerationQueueHub, ModeratorSocket
from server.moderation.security import current_session, same_origin
from server.state import app_state

REVIEW_EVERY = 1.0  # a moderator's "reviewing" note is relayed at most this often


async def moderation_ws(ws: WebSocket) -> None:
    state = app_state(ws)
    session = await current_session(ws)
    if session is None:
        await refuse_websocket(ws, Refusal(401, "login_required", "log in first"))
        return
    if not same_origin(ws) or ws.headers.get("origin") is None:
        await refuse_websocket(ws, Refusal(403, "cross_origin", "open this from our pages"))
        return
    try:
        sites = sites_for(session.moderator, ws.query_params.get("site") or None)
    except DomainError as exc:
        await refuse_websocket(ws, exc)
        return
    await ws.accept()
    hub: ModerationQueueHub = state.modhub
    socket = ModeratorSocket(
        open_live_connection(
            ws.scope, ws.send, node_id=state.node_id, ip="", limit=state.settings.ws_queue_bytes
        ),
        session.moderator,
        sites,
        session.token_hash,
    )
    await hub.join(socket)
    last = 0.0
    try:
        # Subscribed: now what changed before (between the page's render and this socket,
        # or while a dropped one reconnected) is read once, so the page misses nothing.
        try:
            socket.push(await hello(state.services, session.moderator, ws.query_params))
        except DomainError as exc:  # the database is down: the page reconnects later
            socket.conn.drop(Close.TRY_AGAIN, exc.message)
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            try:
                frame = orjson.loads(message.get("text") or b"")
            except orjson.JSONDecodeError:
                await ws.close(1007, "frame is not valid JSON")
                return
            if not isinstance(frame, dict):
                continue
            if frame.get("type") == "reviewing" and time.monotonic() - last > REVIEW_EVERY:
                last = time.monotonic()
                # Working the queue is activity: the session's idle timeout starts over.
                await session_by_hash(state.services, socket.session, touch=True)
                target = frame.get("id")
                await hub.reviewing(socket, target if type(target) is int else None)
    finally:
        await hub.leave(socket)
        await socket.conn.stop()


async def hello(svc: Services, moderator: Moderator, query: QueryParams) -> str:
    """The first frame: the tab the page shows (same query as the page) and its counts."""
    view = await view_queue_for(svc, moderator, query)
    data = {
        "counts": view.counts,
        "items": [item.view() for item in view.items],
        "has_next": view.has_next,
    }
    return orjson.dumps({"type": "hello", "data": data}).decode()
