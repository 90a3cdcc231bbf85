"""The /ws endpoint: handshake checks before accept, then subscribe, replay, live."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from starlette.types import Message
from starlette.websockets import WebSocket

from server.core.errors import DomainError, RateLimited, Unauthorized, Unavailable
from server.core.models import Site
from server.core.origins import origin_allowed
from server.core.readers import author_hash_of, is_session
from server.core.threads import page_for_subscriber
from server.http.clientip import client_ip, client_key
from server.http.websocket_refusal import Refusal, refuse_websocket
from server.live.connection import LiveConnection, open_live_connection
from server.live.frames import VERSION, ClientMessage, Close, ProtocolError, frame, parse_client
from server.state import AppState, app_state

log = logging.getLogger("threadline.live")

SUBSCRIBE_TIMEOUT = 10.0
# Token bucket for frames a client sends: a burst of BURST, then RATE per second.
BURST, RATE = 20, 5.0


class Bucket:
    __slots__ = ("at", "tokens")

    def __init__(self) -> None:
        self.tokens, self.at = float(BURST), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(BURST, self.tokens + (now - self.at) * RATE)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


async def ws_endpoint(ws: WebSocket) -> None:
    app = app_state(ws)
    ip = client_ip(ws.scope, app.settings.trusted_proxies)
    if app.shutting_down:
        await refuse_websocket(ws, Refusal(503, "shutting_down", "this server is restarting"))
        return
    if ws.query_params.get("v", str(VERSION)) != str(VERSION):
        await refuse_websocket(
            ws, Refusal(400, "unsupported_version", f"this server speaks v={VERSION}")
        )
        return
    origin = ws.headers.get("origin")
    try:
        site = await app.sites.get(ws.query_params.get("site", ""))
    except DomainError as exc:
        await refuse_websocket(ws, exc)
        return
    if origin is None or not origin_allowed(origin, site.origins):
        # Cross-site websocket hijacking: refused before accept, like CORS for HTTP.
        await refuse_websocket(
            ws,
            Refusal(
                403,
                "origin_not_allowed",
                f"origin {str(origin)[:100]} is not allowed for this site",
            ),
        )
        return
    counted = client_key(ip)
    try:
        app.hub.rooms.admit(counted, app.settings.ws_max_per_ip)
    except DomainError as exc:
        await refuse_websocket(ws, exc)
        return
    try:
        await ws.accept()
        conn = open_live_connection(
            ws.scope, ws.send, node_id=app.node_id, ip=ip, limit=app.settings.ws_queue_bytes
        )
        try:
            await _serve(ws, app, site.id, conn)
        except asyncio.CancelledError:
            if not conn.closed:
                raise
            # Our own writer cancelled us to drop a client that reads nothing.
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        finally:
            app.hub.rooms.leave(conn)
            if conn.reader is not None:
                app.hub.readers.leave(conn)
            await conn.stop()
    finally:
        app.hub.rooms.release(counted)


async def _serve(ws: WebSocket, app: AppState, site_id: str, conn: LiveConnection) -> None:
    # The raw ASGI receive, awaited right here: no extra coroutine frame stays suspended on
    # every idle reader's stack.
    receive = ws._receive
    bucket = Bucket()
    try:
        first = _parse(await asyncio.wait_for(receive(), SUBSCRIBE_TIMEOUT), conn, bucket)
        if first is None:
            return
        if first.type != "subscribe":
            raise ProtocolError(Close.POLICY, "the first frame must be a subscribe")
        await _subscribe(app, site_id, conn, first)
        while (msg := _parse(await receive(), conn, bucket)) is not None:
            if conn.closed:
                return
            if msg.type == "typing":
                await app.hub.typing.relay(conn)
            elif msg.type == "ping":
                conn.push(frame("pong", conn.room.key if conn.room else ""))
            elif msg.type == "sync":
                if msg.seq is None:
                    raise ProtocolError(Close.POLICY, "sync needs the last seq you applied")
                await app.hub.rooms.resync(conn, msg.seq)
            else:
                raise ProtocolError(Close.POLICY, "already subscribed")
    except TimeoutError:
        await _close(ws, conn, Close.POLICY, "no subscribe frame in time")
    except ProtocolError as exc:
        await _close(ws, conn, exc.code, exc.reason)
    except Unavailable as exc:
        # The database is down (a replay, a room opening): the client resumes from its
        # seq once it answers again, as after any drop.
        await _close(ws, conn, Close.TRY_AGAIN, f"{exc.code}: {exc.message}")


async def _subscribe(app: AppState, site_id: str, conn: LiveConnection, msg: ClientMessage) -> None:
    site = await app.sites.get(site_id)
    try:
        page = await page_for_subscriber(app.services, site, msg.page, conn.ip)
        if msg.token is not None:
            conn.author_hash = await _author(app, site, msg.token)
    except (RateLimited, Unavailable) as exc:
        raise ProtocolError(Close.TRY_AGAIN, f"{exc.code}: {exc.message}") from None
    except DomainError as exc:
        raise ProtocolError(Close.POLICY, f"{exc.code}: {exc.message}") from None
    await app.hub.rooms.join(conn, page, msg.seq)
    if conn.author_hash is not None:
        # Their unread notifications count, live (a socket without a reader costs nothing).
        await app.hub.readers.join(conn, site.id, conn.author_hash)


async def _author(app: AppState, site: Site, token: str) -> str | None:
    """Whose own events (a rejection of their held comment) this socket also receives: an
    author token's, or a signed-in reader's. A session that ended only loses those: the page
    stays live (a malformed author token is still refused, as before)."""
    try:
        async with app.store.read() as tx:
            return await author_hash_of(tx, app.secret, site, token, app.services.now_ms())
    except Unauthorized:
        if is_session(token):
            return None
        raise


def _parse(message: Message, conn: LiveConnection, bucket: Bucket) -> ClientMessage | None:
    if message["type"] == "websocket.disconnect":
        return None
    conn.last_seen = time.monotonic()
    text = message.get("text")
    if text is None:
        raise ProtocolError(Close.UNSUPPORTED_DATA, "binary frames are not supported")
    if not bucket.take():
        raise ProtocolError(Close.POLICY, "too many messages")
    return parse_client(text)


async def _close(ws: WebSocket, conn: LiveConnection, code: int, reason: str) -> None:
    conn.closed = True
    with contextlib.suppress(Exception):
        await ws.close(code, reason[:120])
