"""The live queue: moderators' sockets hear every queue change and who is reviewing what."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass

import orjson
from starlette.websockets import WebSocket

from server.broker.base import Broker
from server.broker.channels import moderation_channel
from server.core.accounts import access_lost, session_by_hash
from server.core.context import Services
from server.core.errors import DomainError
from server.core.models import Moderator, QueueChange
from server.core.queue import queue_item, sites_for, tab_of
from server.http.app_state import app_state
from server.http.responses import error
from server.live.conn import Conn, open_conn
from server.live.protocol import EVENT, Close, Frame, pack, unpack
from server.moderation.security import current_session, same_origin

log = logging.getLogger("threadline.moderation")
REVIEW_EVERY = 1.0  # a moderator's "reviewing" note is relayed at most this often
# Every socket's session and grants are read again this often, in every process: logout,
# `moderator remove`, a deleted account or an expired session closes it within this time
# (plus one read), whichever process or command caused it.
ACCESS_EVERY = 2.0


@dataclass(eq=False)
class ModConn:
    """A moderator's socket: the connection, who they are, what they see."""

    conn: Conn
    moderator: Moderator
    sites: list[str]
    session: str  # the session's token hash: the socket lives only as long as it does
    reviewing: int | None = None

    @property
    def id(self) -> str:
        return self.conn.id

    def push(self, text: str) -> None:
        self.conn.push(Frame.of(text))


class ModHub:
    """Implements ``QueueObserver``: every process hears every change through the broker and
    forwards it to its own moderators of that site."""

    def __init__(self, broker: Broker, svc: Services, node_id: str) -> None:
        self.broker = broker
        self.svc = svc
        self.node_id = node_id
        self.by_site: dict[str, set[ModConn]] = defaultdict(set)
        self._counts: dict[str, asyncio.Task[None]] = {}
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._watch = asyncio.create_task(self._watch_access(), name="threadline-mod-access")

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch

    async def _watch_access(self) -> None:
        while True:
            await asyncio.sleep(ACCESS_EVERY)
            try:
                await self.check_access()
            except Exception:
                log.exception("could not check moderators' access; retrying")

    async def check_access(self) -> None:
        """Close every socket whose moderator lost the session or a site it shows."""
        conns = {conn for members in self.by_site.values() for conn in members}
        for conn in conns:
            session = await session_by_hash(self.svc, conn.session, touch=False)
            reason = access_lost(session, conn.sites)
            if reason is not None:
                conn.conn.drop(Close.POLICY, reason)

    async def queue_changed(self, change: QueueChange) -> None:
        item = await queue_item(self.svc, change.comment, change.page)
        data = orjson.dumps(
            {
                "type": "queue.changed",
                "site": change.site_id,
                "data": {
                    "item": item.view(),
                    "tabs": tab_of(change.comment),
                    "before": change.before.value if change.before else None,
                    "by": change.by,
                },
            }
        )
        await self.broker.publish(moderation_channel(change.site_id), pack(EVENT, 0, "", data))

    def on_message(self, channel: str, message: bytes) -> None:
        site = channel.rsplit(":", 1)[1]
        conns = self.by_site.get(site)
        if not conns:
            return
        _kind, _seq, skip, data = unpack(message)
        out = Frame(data)
        for member in conns:
            if member.id != skip:
                member.conn.push(out)
        if data.startswith(b'{"type":"queue.changed"') and site not in self._counts:
            # Coalesced: one count query per site per burst, not one per change.
            self._counts[site] = asyncio.create_task(self._send_counts(site))

    async def _send_counts(self, site: str) -> None:
        """Each moderator's tab counts are totals over the sites their page shows."""
        try:
            await asyncio.sleep(0.1)
            groups: dict[tuple[str, ...], list[ModConn]] = defaultdict(list)
            for conn in self.by_site.get(site, ()):
                groups[tuple(conn.sites)].append(conn)
            for sites, conns in groups.items():
                async with self.svc.store.read() as tx:
                    counts = await tx.queue_counts(sites)
                text = orjson.dumps({"type": "counts", "data": counts}).decode()
                for conn in conns:
                    conn.push(text)
        except Exception:
            log.exception("could not count the queue of %s", site)
        finally:
            self._counts.pop(site, None)

    async def join(self, conn: ModConn) -> None:
        for site in conn.sites:
            if not self.by_site[site]:
                await self.broker.subscribe(moderation_channel(site))
            self.by_site[site].add(conn)

    async def leave(self, conn: ModConn) -> None:
        if conn.reviewing:
            await self.reviewing(conn, None)
        for site in conn.sites:
            conns = self.by_site.get(site)
            if conns is None:
                continue
            conns.discard(conn)
            if not conns:
                del self.by_site[site]
                await self.broker.unsubscribe(moderation_channel(site))

    async def reviewing(self, conn: ModConn, comment_id: int | None) -> None:
        conn.reviewing = comment_id
        for site in conn.sites:
            data = orjson.dumps(
                {
                    "type": "reviewing",
                    "site": site,
                    "data": {"id": comment_id, "by": conn.moderator.label, "conn": conn.id},
                }
            )
            await self.broker.publish(moderation_channel(site), pack(EVENT, 0, conn.id, data))


async def moderation_ws(ws: WebSocket) -> None:
    state = app_state(ws)
    session = await current_session(ws)
    if session is None:
        await ws.send_denial_response(error(401, "login_required", "log in first"))
        return
    if not same_origin(ws) or ws.headers.get("origin") is None:
        await ws.send_denial_response(error(403, "cross_origin", "open this from our pages"))
        return
    try:
        sites = sites_for(session.moderator, ws.query_params.get("site") or None)
    except DomainError as exc:
        await ws.send_denial_response(error(403, exc.code, exc.message))
        return
    await ws.accept()
    hub: ModHub = state.modhub
    conn = ModConn(
        open_conn(
            ws.scope, ws.send, node_id=state.node_id, ip="", limit=state.settings.ws_queue_bytes
        ),
        session.moderator,
        sites,
        session.token_hash,
    )
    await hub.join(conn)
    last = 0.0
    try:
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
                await session_by_hash(state.services, conn.session, touch=True)
                target = frame.get("id")
                await hub.reviewing(conn, target if type(target) is int else None)
    finally:
        await hub.leave(conn)
        await conn.conn.stop()
