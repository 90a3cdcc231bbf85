"""One page's readers in this process, and the ordered, gap-free stream they receive."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from server.core.failures import log_failure
from server.core.models import Page
from server.live.connection import LiveConnection
from server.live.frames import Frame, frame
from server.metrics import LiveStats

log = logging.getLogger("threadline.live")

RECENT = 256  # durable frames kept for replays without a database read
MAX_REPLAY = 2000  # further behind than this, the client reloads over HTTP instead

# Reads durable frames (seq, frame, redacts) with after < seq <= upto (upto None: to the end).
Loader = Callable[[Page, int, int | None], Awaitable[list[tuple[int, Frame, bool]]]]


class Room:
    """Delivers each durable event exactly once and in ``seq`` order to every local reader,
    filling any gap (a lost broker message, a Redis outage) from the event table."""

    def __init__(
        self, channel: str, page: Page, load: Loader, stats: LiveStats | None = None
    ) -> None:
        self.channel = channel
        self.stats = stats or LiveStats()
        self.page = page
        self.key = page.key
        self._load = load
        self.conns: set[LiveConnection] = set()
        self.joining: dict[LiveConnection, list[tuple[int, Frame]]] = {}
        self.ahead: set[LiveConnection] = set()  # conns whose floor is above last_seq
        self.last_seq = page.seq
        self.recent: deque[tuple[int, Frame]] = deque(maxlen=RECENT)
        self.pending: dict[int, tuple[Frame, bool]] = {}
        self._filling: asyncio.Task[None] | None = None
        self._refill = False
        self.empty_since: float | None = None  # when the last local reader left

    @property
    def local_count(self) -> int:
        return len(self.conns) + len(self.joining)

    # -- durable events ------------------------------------------------------------------
    def on_event(self, seq: int, out: Frame, redacts: bool = False) -> None:
        """A durable event; ``redacts`` when it takes text out of public view (a deletion,
        an edit), so earlier frames of it must not be replayed any more."""
        if seq <= self.last_seq:
            return  # already delivered (our own local fast path, or a replay)
        if seq == self.last_seq + 1 and self._filling is None:
            self._accept(seq, out, redacts)
            self._drain()
            return
        self.pending[seq] = (out, redacts)
        self.catch_up()

    def _accept(self, seq: int, out: Frame, redacts: bool) -> None:
        self.last_seq = seq
        if redacts:
            # Older frames may hold the text that just left view: replays before this point
            # are read from the event table, which renders every comment as it is now.
            self.recent.clear()
        self.recent.append((seq, out))
        if self.ahead:
            for conn in self.conns:
                if conn.floor < seq:
                    conn.push(out)
            self.ahead = {c for c in self.ahead if c.floor > seq}
        else:
            for conn in self.conns:
                conn.push(out)
        self.stats.delivered += len(self.conns)
        for buffer in self.joining.values():
            buffer.append((seq, out))

    def _drain(self) -> None:
        while self.pending:
            nxt = self.pending.pop(self.last_seq + 1, None)
            if nxt is None:
                for stale in [s for s in self.pending if s <= self.last_seq]:
                    del self.pending[stale]
                return
            self._accept(self.last_seq + 1, *nxt)

    def catch_up(self) -> None:
        """Read whatever this room missed from the database (once at a time)."""
        if self._filling is not None:
            self._refill = True
            return
        self._filling = asyncio.create_task(self._fill())

    async def _fill(self) -> None:
        try:
            for _ in range(50):
                self._refill = False
                try:
                    rows = await self._load(self.page, self.last_seq, None)
                except Exception:  # noqa: BLE001 -- log_failure logs it
                    log_failure(log, "catch-up read failed for %s; retrying", self.channel)
                    await asyncio.sleep(1.0)
                    self._refill = True
                    rows = []
                for seq, out, redacts in rows:
                    if seq == self.last_seq + 1:
                        self._accept(seq, out, redacts)
                self._drain()
                if not self._refill and not self.pending:
                    return
                if self.pending and not rows:
                    await asyncio.sleep(0.05)  # published before its commit was visible here
        finally:
            self._filling = None

    # -- readers -------------------------------------------------------------------------
    async def resync(self, conn: LiveConnection, after: int | None) -> None:
        """Bring ``conn`` from ``after`` to now, then stream live: no gap, no duplicate."""
        self.empty_since = None
        self.conns.discard(conn)
        self.joining[conn] = []
        try:
            upto = self.last_seq
            replay = await self._replay(after, upto)
        except BaseException:
            self.joining.pop(conn, None)
            raise
        buffered = self.joining.pop(conn)
        if replay is None:
            conn.push(frame("reset", self.key, upto, {"reason": "too far behind: reload"}))
            floor = upto
        else:
            floor = after if after is not None else upto
            for _, out in replay:
                conn.push(out)
            floor = max(floor, upto)
        for seq, out in buffered:
            if seq > floor:
                conn.push(out)
                floor = seq
        conn.floor = floor
        if floor > self.last_seq:
            self.ahead.add(conn)
            self.catch_up()  # the client has seen events this room has not: go and get them
        self.conns.add(conn)
        conn.push(frame("sync", self.key, max(floor, self.last_seq)))

    async def _replay(self, after: int | None, upto: int) -> list[tuple[int, Frame]] | None:
        if after is None or after >= upto:
            return []
        if upto - after > MAX_REPLAY:
            return None
        if self.recent and self.recent[0][0] <= after + 1 and self.recent[-1][0] >= upto:
            return [(s, t) for s, t in self.recent if after < s <= upto]
        return [(s, t) for s, t, _ in await self._load(self.page, after, upto)]

    def remove(self, conn: LiveConnection) -> None:
        self.conns.discard(conn)
        self.joining.pop(conn, None)
        self.ahead.discard(conn)
        if not self.local_count:
            self.empty_since = time.monotonic()

    def idle_for(self, now: float) -> float:
        """Seconds since the last local reader left (0 while it has readers)."""
        return 0.0 if self.empty_since is None else now - self.empty_since

    def silent_since(self, moment: float) -> list[LiveConnection]:
        """Readers that sent nothing (not even a ping) after ``moment``."""
        return [conn for conn in self.conns if conn.last_seen < moment]

    # -- ephemeral -----------------------------------------------------------------------
    def broadcast(self, out: Frame, skip: str = "") -> None:
        for conn in self.conns:
            if conn.id != skip:
                conn.push(out)
        self.stats.delivered += len(self.conns)

    def to_author(self, author_hash: str, out: Frame) -> None:
        for conn in self.conns:
            if conn.author_hash == author_hash:
                conn.push(out)

    def close(self) -> None:
        if self._filling is not None:
            self._filling.cancel()
