"""Live unread counts per reader (issue #18): the reader registry and its doorbells.

A socket whose subscribe frame carried a token that resolved to an author hash is
registered under (site id, author hash). The first local socket of a reader subscribes
the reader's broker channel, the last one to leave unsubscribes it: a reader without a
token costs nothing here, and one with a token costs one broker subscription per process
however many tabs they keep open.

A change to a reader's notifications rings their channel (a doorbell: no count travels,
so no process can send a stale one). Each process with sockets of that reader reads the
unread count once (the first read about ``FIRST_DELAY`` after a quiet spell, then at most
one per ``EVERY`` per reader) and pushes one ``notifications`` frame of the absolute count
to each of them that was not told that count already (a burst of reactions that leaves the
count where it was, or a reconnect that finds nothing new, sends nothing). Reads are made
by one worker, many readers to a transaction, so a burst of doorbells (or a broker
reconnect ringing every reader) holds one database connection, not one per reader. The
frames take no ``seq`` and are never replayed: a lost one heals with the next, and after a
broker reconnect every local reader is read again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from server.broker.base import PubSub
from server.broker.channels import reader_channel
from server.core.failures import log_failure
from server.core.ports import Store
from server.live.frames import Frame, frame

log = logging.getLogger("threadline.live")

FIRST_DELAY = 0.05  # a lone change shows this soon
EVERY = 0.5  # a reader's sockets get at most one read's frames this often, per process
RETRY_AFTER = 1.0  # a failed read is tried again this much later
READS_PER_TRANSACTION = 100  # counts read in one read transaction before yielding it
NOTIFICATIONS = "notifications"


class Reader:
    """One reader with sockets in this process: those sockets, and their coalescing state."""

    __slots__ = ("author_hash", "channel", "connections", "last", "site_id", "timer", "unread")

    def __init__(self, channel: str, site_id: str, author_hash: str) -> None:
        self.channel = channel
        self.site_id = site_id
        self.author_hash = author_hash
        # Its sockets (LiveConnection, typed loosely: no import cycle), each with the count
        # it was last told (None: nothing yet).
        self.connections: dict[Any, int | None] = {}
        # The count read since the broker subscription stood and no doorbell has rung since:
        # what a newly joined socket is told at once, without a read. None: unknown.
        self.unread: int | None = None
        self.last: float | None = None  # when its latest read began (clock seconds)
        self.timer: asyncio.TimerHandle | None = None  # a read is scheduled


class ReaderRegistry:
    """The readers with sockets in this process, by reader channel."""

    def __init__(
        self,
        pubsub: PubSub,
        store: Store,
        node_id: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pubsub = pubsub
        self._store = store
        self._node_id = node_id.encode()
        self._clock = clock
        self.by_channel: dict[str, Reader] = {}
        # Channels subscribed on the broker, and the one task per channel that brings the
        # subscription in line with ``by_channel`` (joins and leaves may interleave with
        # its awaits: it loops until both agree, so none is lost and none leaks).
        self.subscribed: set[str] = set()
        self._syncing: dict[str, asyncio.Task[None]] = {}
        self._due: dict[str, Reader] = {}  # readers whose read is due, oldest first
        self._worker: asyncio.Task[None] | None = None
        self._closed = False  # shutting down: sockets still leave, nothing new starts
        self.reads = 0  # unread counts read from the store
        self.frames = 0  # notifications frames pushed to sockets

    @property
    def connections(self) -> int:
        return sum(len(reader.connections) for reader in self.by_channel.values())

    # -- joining and leaving -------------------------------------------------------------
    async def join(self, conn: Any, site_id: str, author_hash: str) -> None:
        """Register ``conn`` (already in its room) as a socket of the reader; it gets the
        current unread count once."""
        channel = reader_channel(site_id, author_hash)
        reader = self.by_channel.get(channel)
        if reader is None:
            reader = self.by_channel[channel] = Reader(channel, site_id, author_hash)
        reader.connections[conn] = None
        conn.reader = reader
        # Subscribed before the count is read: a change committed meanwhile either rings
        # the channel after the subscription or is counted by the read. (A broker takes the
        # subscription without confirming it; the first read comes FIRST_DELAY later, by
        # when it stands.)
        await asyncio.shield(self._sync(channel))
        if conn.reader is not reader or conn.closed:
            return  # left while subscribing
        if reader.unread is not None:
            self._tell(reader, conn, reader.unread)
        else:
            self._ring(reader)

    def leave(self, conn: Any) -> None:
        reader: Reader | None = conn.reader
        if reader is None:
            return
        conn.reader = None
        reader.connections.pop(conn, None)
        if reader.connections or self.by_channel.get(reader.channel) is not reader:
            return
        del self.by_channel[reader.channel]
        self._forget(reader)
        if not self._closed:  # (a closing broker drops every subscription anyway)
            self._sync(reader.channel)  # unsubscribes, in the background

    def _forget(self, reader: Reader) -> None:
        if reader.timer is not None:
            reader.timer.cancel()
            reader.timer = None
        if self._due.get(reader.channel) is reader:
            del self._due[reader.channel]

    def _sync(self, channel: str) -> asyncio.Task[None]:
        task = self._syncing.get(channel)
        if task is None or task.done():
            task = asyncio.create_task(self._reconcile(channel), name="threadline-reader-sub")
            self._syncing[channel] = task
            task.add_done_callback(lambda done: self._synced(channel, done))
        return task

    def _synced(self, channel: str, task: asyncio.Task[None]) -> None:
        if self._syncing.get(channel) is task:
            del self._syncing[channel]

    async def _reconcile(self, channel: str) -> None:
        try:
            while True:
                wanted = channel in self.by_channel
                if wanted == (channel in self.subscribed):
                    return
                if wanted:
                    self.subscribed.add(channel)
                    await self._pubsub.subscribe(channel)
                else:
                    self.subscribed.discard(channel)
                    await self._pubsub.unsubscribe(channel)
        except Exception:
            # A broker that cannot take the command now takes the whole set on reconnect
            # (and the reconnect re-reads every reader); the reader keeps its page.
            log.exception("reader channel subscription failed")

    # -- doorbells -----------------------------------------------------------------------
    def on_message(self, channel: str, message: bytes) -> None:
        """A doorbell from the broker (a ``MessageHandler``: never blocks)."""
        if message == self._node_id:
            return  # rung here already, when this process published it
        self.rang(channel)

    def rang(self, channel: str) -> None:
        """The notifications of the reader of ``channel`` changed (committed)."""
        reader = self.by_channel.get(channel)
        if reader is not None:
            self._ring(reader)

    def all_rang(self) -> None:
        """After a broker outage: doorbells in the gap are lost, so read every reader."""
        for reader in self.by_channel.values():
            self._ring(reader)

    def _ring(self, reader: Reader) -> None:
        reader.unread = None  # stale from now on, until read again
        if self._closed:
            return
        if reader.timer is not None or self._due.get(reader.channel) is reader:
            return  # a read is coming that starts after this doorbell
        self._schedule(reader, FIRST_DELAY)

    def _schedule(self, reader: Reader, soonest: float) -> None:
        last = reader.last
        delay = soonest if last is None else max(soonest, last + EVERY - self._clock())
        reader.timer = asyncio.get_running_loop().call_later(delay, self._fire, reader)

    def _fire(self, reader: Reader) -> None:
        reader.timer = None
        if self.by_channel.get(reader.channel) is not reader:
            return
        self._due[reader.channel] = reader
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain(), name="threadline-reader-counts")

    async def _drain(self) -> None:
        """Read what is due, a batch per transaction, until nothing is; then end (the next
        doorbell starts another worker)."""
        while self._due:
            batch: list[Reader] = []
            while self._due and len(batch) < READS_PER_TRANSACTION:
                channel = next(iter(self._due))
                batch.append(self._due.pop(channel))
            # Stamped before the read: doorbells that ring from here on wait a full EVERY,
            # and get a read that begins after them.
            began = self._clock()
            for reader in batch:
                reader.last = began
            counts: list[tuple[Reader, int]] = []
            try:
                async with self._store.read() as tx:
                    for reader in batch:
                        if self.by_channel.get(reader.channel) is reader:
                            unread = await tx.unread_notifications(
                                reader.site_id, reader.author_hash
                            )
                            counts.append((reader, unread))
                            self.reads += 1
            except Exception:  # noqa: BLE001 -- log_failure logs it
                log_failure(log, "reading %d reader(s)' unread counts failed; retrying", len(batch))
                for reader in batch:
                    if self.by_channel.get(reader.channel) is reader and reader.timer is None:
                        self._schedule(reader, RETRY_AFTER)
                continue
            for reader, unread in counts:
                if self.by_channel.get(reader.channel) is not reader:
                    continue  # left during the read
                # Kept for newcomers only if no doorbell rang during the read.
                reader.unread = unread if reader.timer is None else None
                for conn, told in list(reader.connections.items()):
                    if told != unread:
                        self._tell(reader, conn, unread)

    def _tell(self, reader: Reader, conn: Any, unread: int) -> None:
        reader.connections[conn] = unread
        conn.push(self._frame(conn, unread))
        self.frames += 1

    @staticmethod
    def _frame(conn: Any, unread: int) -> Frame:
        # The common envelope: the socket's page, no seq (never replayed), absolute data.
        room = conn.room
        return frame(NOTIFICATIONS, room.key if room is not None else "", 0, {"unread": unread})

    async def close(self) -> None:
        self._closed = True
        for reader in self.by_channel.values():
            self._forget(reader)
        tasks = [*self._syncing.values(), *([self._worker] if self._worker else [])]
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
