"""Reaction totals for live readers, coalesced.

A reaction rings its page's channel with the comment's id (a doorbell: no totals travel,
so no process can send stale ones). Each process with readers on the page gathers the ids
per room and, at most once per ``EVERY`` seconds per room (the first ``FIRST_DELAY`` after a
quiet spell), reads the current totals of all of them in one query and sends its readers
one ``reactions`` frame of absolute totals. A lost doorbell is healed by the next one and by
any reload; the frames take no ``seq`` and are never replayed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from server.core.failures import log_failure
from server.core.models import EventType
from server.core.ports import Store
from server.live.frames import frame
from server.live.room import Room

log = logging.getLogger("threadline.live")

FIRST_DELAY = 0.05  # a lone reaction shows this soon
EVERY = 0.5  # a room's readers get at most one reactions frame this often
RETRY_AFTER = 1.0  # a failed read is tried again this much later


class ReactionCounts:
    """Per room: the comments whose totals changed since its last frame, and when that was."""

    def __init__(
        self,
        store: Store,
        rooms: dict[str, Room],
        flushed: Callable[[Room], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._rooms = rooms  # the registry's own dict: a room no longer in it is closed
        self._flushed = flushed  # told of each room whose readers got new totals
        self._clock = clock
        self._pending: dict[Room, set[int]] = {}
        self._last: dict[Room, float] = {}
        self._timers: dict[Room, asyncio.TimerHandle] = {}
        self._flushing: set[asyncio.Task[None]] = set()
        self.frames = 0  # reactions frames this process sent (one per room per flush)

    def rang(self, room: Room, comment_id: int) -> None:
        """A comment on ``room``'s page has new totals (committed)."""
        pending = self._pending.get(room)
        if pending is None:
            self._pending[room] = {comment_id}
        else:
            pending.add(comment_id)
        if room not in self._timers:
            self._schedule(room, FIRST_DELAY)

    def forget(self, room: Room) -> None:
        """The room closed: drop what it was waiting for."""
        self._pending.pop(room, None)
        self._last.pop(room, None)
        timer = self._timers.pop(room, None)
        if timer is not None:
            timer.cancel()

    async def close(self) -> None:
        for room in list(self._timers):
            self.forget(room)
        for task in list(self._flushing):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _schedule(self, room: Room, soonest: float) -> None:
        last = self._last.get(room)
        delay = soonest if last is None else max(soonest, last + EVERY - self._clock())
        self._timers[room] = asyncio.get_running_loop().call_later(delay, self._due, room)

    def _due(self, room: Room) -> None:
        self._timers.pop(room, None)
        # Stamped now, before the read: doorbells that ring from here on wait a full EVERY.
        self._last[room] = self._clock()
        task = asyncio.create_task(self._flush(room), name="threadline-reaction-counts")
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _flush(self, room: Room) -> None:
        ids = self._pending.pop(room, None)
        if not ids or self._rooms.get(room.channel) is not room:
            return
        try:
            async with self._store.read() as tx:
                totals = await tx.reaction_totals(sorted(ids))
        except Exception:  # noqa: BLE001 -- log_failure logs it
            log_failure(log, "reading reaction totals failed for %s; retrying", room.channel)
            if self._rooms.get(room.channel) is room:
                self._pending.setdefault(room, set()).update(ids)
                if room not in self._timers:
                    self._schedule(room, RETRY_AFTER)
            return
        if self._rooms.get(room.channel) is not room:
            return
        if totals:
            data = {"comments": {str(cid): dict(counts) for cid, counts in totals.items()}}
            room.broadcast(frame(EventType.REACTIONS.value, room.key, 0, data))
            self.frames += 1
        self._flushed(room)
