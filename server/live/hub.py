"""This process's rooms: one broker subscription per active page, fed to local sockets.

Also the ``Publisher`` core writes through: committed events go to local readers at once
and to other processes through the broker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence

from server.broker.base import Broker, MessageHandler
from server.broker.channels import (
    FORGET_CHANNEL,
    forget_message,
    page_channel,
    read_forget_message,
)
from server.core.errors import RateLimited
from server.core.events import REDACTING
from server.core.models import Event, EventType, Page
from server.core.ports import Store
from server.live.conn import Conn
from server.live.protocol import (
    AUTHOR,
    EVENT,
    PRESENCE,
    REDACTS,
    Close,
    Frame,
    event_frame,
    frame,
    pack,
    unpack,
)
from server.live.room import Room
from server.metrics import LiveStats

log = logging.getLogger("threadline.live")

SWEEP_SECONDS = 5.0  # rooms compare their seq with the database this often
PRESENCE_DELAY = 0.2  # presence changes are coalesced for this long
IDLE_SECONDS = 30.0  # a room without readers keeps its subscription this long
IDLE_TIMEOUT = 75.0  # a socket that sends nothing (not even a ping) this long is dropped
TYPING_EVERY = 2.0  # one socket's typing is relayed at most this often
PAGE_TYPING_EVERY = 0.5  # and one page's at most this often
TYPING_PER_IP = 60  # typing notices per minute from one client IP, across its sockets


class Hub:
    def __init__(self, broker: Broker, store: Store) -> None:
        self.broker = broker
        self.store = store
        self.rooms: dict[str, Room] = {}
        self._opening: dict[str, asyncio.Future[Room]] = {}
        self.per_ip: Counter[str] = Counter()
        self._presence_dirty: set[Room] = set()
        self._presence_stale: set[Room] = set()
        self._presence_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._routes: list[tuple[str, MessageHandler]] = []
        # Told (site id, page key) of every durable event seen here, and of every redacting
        # one anywhere: caches forget the page. After a broker outage: forget everything.
        self.page_changed: list[Callable[[str, str], None]] = []
        self.all_changed: list[Callable[[], None]] = []
        self.route(FORGET_CHANNEL, self._on_forget)
        self.closing = False
        self.stats = LiveStats()

    @property
    def connections(self) -> int:
        return sum(self.per_ip.values())

    def route(self, prefix: str, handler: MessageHandler) -> None:
        """Send broker messages on channels starting with ``prefix`` to ``handler``."""
        self._routes.append((prefix, handler))

    async def start(self) -> None:
        await self.broker.start(self._on_message, self._on_reconnect)
        await self.broker.subscribe(FORGET_CHANNEL)
        self._tasks = [
            asyncio.create_task(self._presence_loop(), name="threadline-presence"),
            asyncio.create_task(self._sweep_loop(), name="threadline-sweeper"),
        ]

    async def close(self) -> None:
        self.closing = True
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for room in self.rooms.values():
            room.close()
        await self.broker.close()

    # -- Publisher (called by core after commit) -----------------------------------------
    async def publish(self, events: Sequence[Event]) -> None:
        for event in events:
            channel = page_channel(event.site_id, event.page_id)
            out = event_frame(event)  # serialised once for every reader in every process
            self._page_changed(event.site_id, event.page_key)
            redacts = event.type in REDACTING
            room = self.rooms.get(channel)
            if room is not None:
                self._deliver(room, event.seq, out, redacts)
            await self.broker.publish(
                channel, pack(EVENT, event.seq, REDACTS if redacts else "", out.data)
            )
            if redacts:
                # Processes with no reader on this page hear nothing on its channel, yet
                # may hold its first page in a cache: they forget it too.
                await self.broker.publish(
                    FORGET_CHANNEL, forget_message(event.site_id, event.page_key)
                )
            self.stats.published += 1

    def _page_changed(self, site_id: str, page_key: str) -> None:
        for listener in self.page_changed:
            listener(site_id, page_key)

    def _on_forget(self, _channel: str, message: bytes) -> None:
        self._page_changed(*read_forget_message(message))

    def _deliver(self, room: Room, seq: int, out: Frame, redacts: bool) -> None:
        began, before = time.perf_counter(), room.last_seq
        room.on_event(seq, out, redacts)
        if room.last_seq != before:  # the copy that arrives second costs nothing: not timed
            self.stats.fanout.observe(time.perf_counter() - began)

    async def notify_author(self, site_id: str, author_hash: str, event: Event) -> None:
        channel = page_channel(site_id, event.page_id)
        await self.broker.publish(channel, pack(AUTHOR, 0, author_hash, event_frame(event).data))

    # -- broker callbacks ----------------------------------------------------------------
    def _on_message(self, channel: str, message: bytes) -> None:
        room = self.rooms.get(channel)
        if room is None:
            for prefix, handler in self._routes:
                if channel.startswith(prefix):
                    handler(channel, message)
            return
        kind, seq, target, data = unpack(message)
        if kind == EVENT:
            if seq:
                self._page_changed(room.page.site_id, room.key)
                self._deliver(room, seq, Frame(data), target == REDACTS)
            else:
                room.broadcast(Frame(data), skip=target)
        elif kind == AUTHOR:
            room.to_author(target, Frame(data))
        elif kind == PRESENCE:
            self._presence_stale.add(room)
            self._presence_wake.set()

    async def _on_reconnect(self) -> None:
        # Messages in the gap are lost, forget doorbells included.
        for listener in self.all_changed:
            listener()
        for room in list(self.rooms.values()):
            room.catch_up()
            self._presence_dirty.add(room)
        self._presence_wake.set()

    # -- joining and leaving -------------------------------------------------------------
    async def join(self, conn: Conn, page: Page, after: int | None) -> Room:
        room = await self._room(page)
        room.empty_since = None
        conn.room = room
        self._presence_dirty.add(room)
        room.presence_new.add(conn)
        self._presence_wake.set()
        await room.resync(conn, after)
        return room

    async def _room(self, page: Page) -> Room:
        channel = page_channel(page.site_id, page.id)
        room = self.rooms.get(channel)
        if room is not None:
            return room
        opening = self._opening.get(channel)
        if opening is not None:
            return await asyncio.shield(opening)
        future: asyncio.Future[Room] = asyncio.get_running_loop().create_future()
        self._opening[channel] = future
        try:
            # Subscribe first, then read seq: an event committed in between arrives as a
            # message with a higher seq, or is already counted in the seq we read.
            await self.broker.subscribe(channel)
            async with self.store.read() as tx:
                fresh = await tx.find_page_by_id(page.id)
            room = Room(channel, fresh or page, self._load, self.stats)
            self.rooms[channel] = room
            future.set_result(room)
            return room
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: joiners waiting on it re-raise it
            with contextlib.suppress(Exception):
                await self.broker.unsubscribe(channel)
            raise
        finally:
            del self._opening[channel]

    def leave(self, conn: Conn) -> None:
        room: Room | None = conn.room
        if room is None:
            return
        room.remove(conn)
        conn.room = None
        if conn.close_code == Close.TRY_AGAIN:
            self.stats.dropped_slow += 1
        self._presence_dirty.add(room)
        self._presence_wake.set()
        if room.local_count == 0:
            room.empty_since = time.monotonic()

    async def resync(self, conn: Conn, after: int) -> None:
        if conn.room is not None:
            await conn.room.resync(conn, after)

    async def _load(
        self, page: Page, after: int, upto: int | None
    ) -> list[tuple[int, Frame, bool]]:
        out: list[tuple[int, Frame, bool]] = []
        while True:
            async with self.store.read() as tx:
                events = await tx.events_after(page, after, 500)
            for event in events:
                if upto is not None and event.seq > upto:
                    return out
                out.append((event.seq, event_frame(event), event.type in REDACTING))
            if len(events) < 500:
                return out
            after = events[-1].seq

    # -- typing --------------------------------------------------------------------------
    async def typing(self, conn: Conn) -> None:
        """Relay 'someone is typing' without saying who; throttled per socket and page."""
        room: Room | None = conn.room
        if room is None:
            return
        now = time.monotonic()
        if now - conn.typing_at < TYPING_EVERY or now - room.typing_at < PAGE_TYPING_EVERY:
            return
        conn.typing_at = room.typing_at = now
        if await self.broker.hit(f"typing:{conn.ip}", TYPING_PER_IP, 60):
            return  # one client with many sockets: still a trickle
        out = frame(EventType.TYPING.value, room.key)
        await self.broker.publish(room.channel, pack(EVENT, 0, conn.id, out.data))

    # -- presence ------------------------------------------------------------------------
    async def _presence_loop(self) -> None:
        while True:
            await self._presence_wake.wait()
            await asyncio.sleep(PRESENCE_DELAY)
            self._presence_wake.clear()
            try:
                await self._flush_presence()
            except Exception:
                log.exception("presence update failed")

    async def _flush_presence(self) -> None:
        dirty, self._presence_dirty = self._presence_dirty, set()
        for room in dirty:
            await self.broker.set_presence(room.channel, room.local_count)
            await self.broker.publish(room.channel, pack(PRESENCE, 0, "", b""))
        stale, self._presence_stale = self._presence_stale | dirty, set()
        await self._push_presence([r for r in stale if r.local_count])

    async def _push_presence(self, rooms: list[Room]) -> None:
        if not rooms:
            return
        totals = await self.broker.presence([r.channel for r in rooms])
        for room in rooms:
            # Never show fewer readers than this process alone has (a stale Redis read).
            total = max(totals.get(room.channel, 0), room.local_count)
            text = frame(EventType.PRESENCE.value, room.key, 0, {"count": total})
            if total != room.presence_total:
                room.presence_total = total
                room.broadcast(text)
            else:
                for conn in room.presence_new:
                    conn.push(text)
            room.presence_new.clear()

    # -- the sweeper: the safety net under the broker ------------------------------------
    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.sweep()
            except Exception:
                log.exception("sweep failed")

    async def sweep(self) -> None:
        """Catch rooms up from the database, recount presence, close idle rooms."""
        now = time.monotonic()
        for channel, room in list(self.rooms.items()):
            if room.empty_since is not None and now - room.empty_since > IDLE_SECONDS:
                del self.rooms[channel]
                room.close()
                await self.broker.unsubscribe(channel)
                await self.broker.set_presence(channel, 0)
        rooms = list(self.rooms.values())
        if not rooms:
            return
        for room in rooms:
            for conn in [c for c in room.conns if now - c.last_seen > IDLE_TIMEOUT]:
                # Browsers expose no ping API, so dead tabs and half-open TCP are found by
                # the widget's own heartbeat going quiet.
                conn.drop(Close.GOING_AWAY, "idle: no frame for too long, reconnect")
        async with self.store.read() as tx:
            seqs = await tx.page_seqs([r.page.id for r in rooms])
        for room in rooms:
            if seqs.get(room.page.id, 0) > room.last_seq:
                room.catch_up()
        await self._push_presence([r for r in rooms if r.local_count])

    # -- connection limits ---------------------------------------------------------------
    def admit(self, ip: str, limit: int) -> None:
        if self.per_ip[ip] >= limit:
            raise RateLimited(
                "too_many_connections", f"at most {limit} live connections per client", 10
            )
        self.per_ip[ip] += 1

    def release(self, ip: str) -> None:
        self.per_ip[ip] -= 1
        if self.per_ip[ip] <= 0:
            del self.per_ip[ip]
