"""Ephemeral signals on a page: how many read it now (presence), and that someone types.

Neither is stored or replayed. Presence is a count, never a roster: each process records
its own readers per page in the broker, rings a doorbell on the page's channel when that
changes, and every process recounts, coalesced, and tells its readers only new totals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from server.broker.base import Counters, Presence, PubSub
from server.broker.messages import EVENT, PRESENCE, pack
from server.core.models import EventType
from server.live.connection import LiveConnection
from server.live.frames import frame
from server.live.room import Room

log = logging.getLogger("threadline.live")

PRESENCE_DELAY = 0.2  # presence changes are coalesced for this long
TYPING_EVERY = 2.0  # one socket's typing is relayed at most this often
PAGE_TYPING_EVERY = 0.5  # and one page's at most this often
TYPING_PER_IP = 60  # typing notices per minute from one client IP, across its sockets
TYPING_PAGES_KEPT = 4096  # past this many pages' last typing times, the stale ones go


class PresenceTracker:
    """Counts each room's readers across processes and shows the total to its readers."""

    def __init__(self, pubsub: PubSub, presence: Presence) -> None:
        self._pubsub = pubsub
        self._presence = presence
        self._dirty: set[Room] = set()  # our own count changed: record it, ring the doorbell
        self._stale: set[Room] = set()  # another process rang: recount
        self._shown: dict[Room, int] = {}  # the total each room's readers were last told
        self._newcomers: dict[Room, set[LiveConnection]] = {}  # joined, not yet told any
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="threadline-presence")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def joined(self, room: Room, conn: LiveConnection) -> None:
        self._newcomers.setdefault(room, set()).add(conn)
        self.changed(room)

    def left(self, room: Room, conn: LiveConnection) -> None:
        newcomers = self._newcomers.get(room)
        if newcomers is not None:
            newcomers.discard(conn)
        self.changed(room)

    def changed(self, room: Room) -> None:
        """This process's count of readers in ``room`` changed (or must be recorded again)."""
        self._dirty.add(room)
        self._wake.set()

    def heard(self, room: Room) -> None:
        """Another process rang ``room``'s doorbell."""
        self._stale.add(room)
        self._wake.set()

    def forget(self, room: Room) -> None:
        self._shown.pop(room, None)
        self._newcomers.pop(room, None)

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(PRESENCE_DELAY)
            self._wake.clear()
            try:
                await self._flush()
            except Exception:
                log.exception("presence update failed")

    async def _flush(self) -> None:
        dirty, self._dirty = self._dirty, set()
        for room in dirty:
            await self._presence.set_presence(room.channel, room.local_count)
            await self._pubsub.publish(room.channel, pack(PRESENCE, 0, "", b""))
        stale, self._stale = self._stale | dirty, set()
        await self.push([r for r in stale if r.local_count])

    async def push(self, rooms: list[Room]) -> None:
        """Read the totals of ``rooms`` and tell their readers what changed."""
        if not rooms:
            return
        totals = await self._presence.presence([r.channel for r in rooms])
        for room in rooms:
            # Never show fewer readers than this process alone has (a stale Redis read).
            total = max(totals.get(room.channel, 0), room.local_count)
            text = frame(EventType.PRESENCE.value, room.key, 0, {"count": total})
            newcomers = self._newcomers.pop(room, ())
            if total != self._shown.get(room, -1):
                self._shown[room] = total
                room.broadcast(text)
            else:
                for conn in newcomers:
                    conn.push(text)


class TypingRelay:
    """Relays 'someone is typing' without saying who, throttled per socket, page and IP."""

    def __init__(self, pubsub: PubSub, counters: Counters) -> None:
        self._pubsub = pubsub
        self._counters = counters
        self._page_typed_at: dict[str, float] = {}  # by room channel

    async def relay(self, conn: LiveConnection) -> None:
        room: Room | None = conn.room
        if room is None:
            return
        now = time.monotonic()
        page_typed_at = self._page_typed_at.get(room.channel, 0.0)
        if now - conn.typing_at < TYPING_EVERY or now - page_typed_at < PAGE_TYPING_EVERY:
            return
        conn.typing_at = now
        self._remember(room.channel, now)
        if await self._counters.hit(f"typing:{conn.ip}", TYPING_PER_IP, 60):
            return  # one client with many sockets: still a trickle
        out = frame(EventType.TYPING.value, room.key)
        await self._pubsub.publish(room.channel, pack(EVENT, 0, conn.id, out.data))

    def _remember(self, channel: str, now: float) -> None:
        if len(self._page_typed_at) >= TYPING_PAGES_KEPT:
            # Only times within the last PAGE_TYPING_EVERY still throttle anything.
            self._page_typed_at = {
                ch: at for ch, at in self._page_typed_at.items() if now - at < PAGE_TYPING_EVERY
            }
        self._page_typed_at[channel] = now
