"""This process's rooms: joining and leaving them, closing idle ones, and how many sockets
one client may hold."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable

from server.broker.base import Presence, PubSub
from server.broker.channels import page_channel
from server.core.errors import RateLimited
from server.core.events import REDACTING
from server.core.failures import log_failure
from server.core.models import Page
from server.core.ports import Store
from server.live.connection import LiveConnection
from server.live.frames import Close, Frame, event_frame
from server.live.presence import PresenceTracker
from server.live.room import Room
from server.metrics import LiveStats

log = logging.getLogger("threadline.live")

SWEEP_SECONDS = 5.0  # rooms compare their seq with the database this often
IDLE_SECONDS = 30.0  # a room without readers keeps its subscription this long
IDLE_TIMEOUT = 75.0  # a socket that sends nothing (not even a ping) this long is dropped
EVENTS_PER_READ = 500


class RoomRegistry:
    """One room per page with readers here, each with one broker subscription."""

    def __init__(
        self,
        pubsub: PubSub,
        presence: Presence,
        store: Store,
        tracker: PresenceTracker,
        stats: LiveStats,
    ) -> None:
        self._pubsub = pubsub
        self._presence = presence
        self._store = store
        self._tracker = tracker
        self._stats = stats
        # By page channel. The node reads this dict directly on every broker message.
        self.by_channel: dict[str, Room] = {}
        self._opening: dict[str, asyncio.Future[Room]] = {}
        self.per_ip: Counter[str] = Counter()
        self._sweeper: asyncio.Task[None] | None = None
        # Told of every room that closes, to drop what they keep per room.
        self.closed: list[Callable[[Room], None]] = []

    def __len__(self) -> int:
        return len(self.by_channel)

    @property
    def connections(self) -> int:
        return sum(self.per_ip.values())

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_loop(), name="threadline-sweeper")

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for room in self.by_channel.values():
            self._close(room)

    def _close(self, room: Room) -> None:
        room.close()
        for listener in self.closed:
            listener(room)

    # -- admission -----------------------------------------------------------------------
    def admit(self, ip: str, limit: int) -> None:
        """Count one more socket of ``ip``, or refuse it past ``limit``."""
        if self.per_ip[ip] >= limit:
            raise RateLimited(
                "too_many_connections", f"at most {limit} live connections per client", 10
            )
        self.per_ip[ip] += 1

    def release(self, ip: str) -> None:
        self.per_ip[ip] -= 1
        if self.per_ip[ip] <= 0:
            del self.per_ip[ip]

    # -- joining and leaving -------------------------------------------------------------
    async def join(self, conn: LiveConnection, page: Page, after: int | None) -> Room:
        room = await self._room(page)
        conn.room = room
        self._tracker.joined(room, conn)
        await room.resync(conn, after)
        return room

    async def _room(self, page: Page) -> Room:
        channel = page_channel(page.site_id, page.id)
        room = self.by_channel.get(channel)
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
            await self._pubsub.subscribe(channel)
            async with self._store.read() as tx:
                fresh = await tx.find_page_by_id(page.id)
            room = Room(channel, fresh or page, self._load, self._stats)
            self.by_channel[channel] = room
            future.set_result(room)
            return room
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: joiners waiting on it re-raise it
            with contextlib.suppress(Exception):
                await self._pubsub.unsubscribe(channel)
            raise
        finally:
            del self._opening[channel]

    def leave(self, conn: LiveConnection) -> None:
        room: Room | None = conn.room
        if room is None:
            return
        room.remove(conn)
        conn.room = None
        if conn.close_code == Close.TRY_AGAIN:
            self._stats.dropped_slow += 1
        self._tracker.left(room, conn)

    async def resync(self, conn: LiveConnection, after: int) -> None:
        """Replay to ``conn`` what came after ``after`` (a client that saw a gap)."""
        if conn.room is not None:
            await conn.room.resync(conn, after)

    async def _load(
        self, page: Page, after: int, upto: int | None
    ) -> list[tuple[int, Frame, bool]]:
        out: list[tuple[int, Frame, bool]] = []
        while True:
            async with self._store.read() as tx:
                events = await tx.events_after(page, after, EVENTS_PER_READ)
            for event in events:
                if upto is not None and event.seq > upto:
                    return out
                out.append((event.seq, event_frame(event), event.type in REDACTING))
            if len(events) < EVENTS_PER_READ:
                return out
            after = events[-1].seq

    # -- the sweeper: the safety net under the broker ------------------------------------
    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.sweep()
            except Exception:  # noqa: BLE001 -- log_failure logs it
                log_failure(log, "sweep failed")

    async def sweep(self) -> None:
        """Catch rooms up from the database, recount presence, close idle rooms."""
        now = time.monotonic()
        for channel, room in list(self.by_channel.items()):
            if room.idle_for(now) > IDLE_SECONDS:
                del self.by_channel[channel]
                self._close(room)
                self._tracker.forget(room)
                await self._pubsub.unsubscribe(channel)
                await self._presence.set_presence(channel, 0)
        rooms = list(self.by_channel.values())
        if not rooms:
            return
        for room in rooms:
            for conn in room.silent_since(now - IDLE_TIMEOUT):
                # Browsers expose no ping API, so dead tabs and half-open TCP are found by
                # the widget's own heartbeat going quiet.
                conn.drop(Close.GOING_AWAY, "idle: no frame for too long, reconnect")
        async with self._store.read() as tx:
            seqs = await tx.page_seqs([r.page.id for r in rooms])
        for room in rooms:
            if seqs.get(room.page.id, 0) > room.last_seq:
                room.catch_up()
        await self._tracker.push([r for r in rooms if r.local_count])
