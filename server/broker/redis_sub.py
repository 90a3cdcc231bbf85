"""A lean Redis pub/sub subscriber: one connection per process, hiredis parsing, explicit
reconnect and resubscribe, and a heartbeat that proves the subscription still delivers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

import hiredis
from redis.connection import SSLConnection, parse_url
from redis.exceptions import RedisClusterException, RedisError

from server.broker.base import MessageHandler, ReconnectHandler
from server.broker.targets import RedisTarget

log = logging.getLogger("threadline.broker")

# What Redis, or redis-py's cluster client (whose own errors are not RedisErrors: no node
# answers, a slot without a master), raises when Redis is not there to answer.
REDIS_ERRORS = (RedisError, RedisClusterException, OSError)

HEARTBEAT_SECONDS = 5.0
# No heartbeat for this long: the connection is half-dead (e.g. a failover) -> reconnect.
SILENCE_SECONDS = 15.0
# Subscribe in batches so a process with many pages does not send one huge command.
BATCH = 500
# Where the master is now (Sentinel's answer): asked at every connect.
Locate = Callable[[], Awaitable[tuple[str, int]]]
# A channel the server dropped on its own (sharded: its slot moved to another node).
LostHandler = Callable[[str], None]


def command(*parts: str | bytes) -> bytes:
    """RESP encoding of one command."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class Subscriber:
    """Keeps one SUBSCRIBE connection alive and every wanted channel subscribed on it.

    Sharded (one Redis Cluster node, ``SSUBSCRIBE``): there is no channel of its own to
    publish a heartbeat on, so a ``PING`` proves the connection instead, and a channel the
    node lets go of by itself (its slot moved) is handed to ``on_lost``."""

    def __init__(
        self,
        target: RedisTarget,
        heartbeat_channel: str | None,
        on_message: MessageHandler,
        on_reconnect: ReconnectHandler,
        publish_heartbeat: Callable[[], Any] | None,
        *,
        locate: Locate | None = None,
        sharded: bool = False,
        on_lost: LostHandler | None = None,
        on_down: Callable[[], None] | None = None,
        slot_of: Callable[[str], int] | None = None,
    ) -> None:
        # One server: its URL says where. Sentinel: ``locate`` asks for the master at
        # every connect (after a failover, the new one); the URL's credentials and TLS.
        self._conf: dict[str, Any] = (
            parse_url(target.url)  # type: ignore[no-untyped-call]
            if target.mode == "single"
            else {
                "username": target.username,
                "password": target.password,
                "connection_class": SSLConnection if target.tls else None,
            }
        )
        self._locate = locate
        self._sharded = sharded
        self._verbs = ("SSUBSCRIBE", "SUNSUBSCRIBE") if sharded else ("SUBSCRIBE", "UNSUBSCRIBE")
        self._on_lost = on_lost
        self._slot_of = slot_of  # sharded: one SSUBSCRIBE may name one slot's channels only
        self._on_down = on_down
        self._heartbeat_channel = heartbeat_channel
        self._on_message = on_message
        self._on_reconnect = on_reconnect
        self._publish_heartbeat = publish_heartbeat
        self.channels: set[str] = set()
        self._leaving: dict[str, int] = {}  # our SUNSUBSCRIBEs not confirmed yet
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._heart: asyncio.Task[None] | None = None
        self._last_seen = time.monotonic()
        self.connected = False
        self.reconnects = 0
        self._catchup: asyncio.Future[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="threadline-redis-subscriber")
        self._heart = asyncio.create_task(self._heartbeat(), name="threadline-redis-heartbeat")

    async def close(self) -> None:
        for task in (self._task, self._heart):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._drop()

    def subscribe(self, channels: Iterable[str]) -> None:
        new = [ch for ch in channels if ch not in self.channels]
        self.channels.update(new)
        self._send(self._verbs[0], new)

    def unsubscribe(self, channels: Iterable[str]) -> None:
        gone = [ch for ch in channels if ch in self.channels]
        self.channels.difference_update(gone)
        if self._sharded and self._writer is not None and self.connected:
            for channel in gone:  # (its confirmation is ours, not the node letting go)
                self._leaving[channel] = self._leaving.get(channel, 0) + 1
        self._send(self._verbs[1], gone)

    def _send(self, verb: str, channels: list[str]) -> None:
        # Only when connected: a reconnect subscribes to the full set anyway.
        if self._writer is None or not self.connected or not channels:
            return
        self._writer.writelines(self._commands(verb, channels))

    def _commands(self, verb: str, channels: list[str]) -> Iterator[bytes]:
        """``verb`` for ``channels`` in batches (sharded: a batch per slot)."""
        groups: Iterable[list[str]] = [channels]
        if self._slot_of is not None:
            by_slot: dict[int, list[str]] = {}
            for channel in channels:
                by_slot.setdefault(self._slot_of(channel), []).append(channel)
            groups = by_slot.values()
        for group in groups:
            for i in range(0, len(group), BATCH):
                yield command(verb, *group[i : i + BATCH])

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        conf = self._conf
        if "path" in conf:
            reader, writer = await asyncio.open_unix_connection(conf["path"])
        else:
            tls = (
                ssl.create_default_context()
                if conf.get("connection_class") is SSLConnection
                else None
            )
            if self._locate is not None:
                host, port = await self._locate()
            else:
                host, port = conf.get("host", "localhost"), conf.get("port", 6379)
            reader, writer = await asyncio.open_connection(host, port, ssl=tls)
        if conf.get("password"):
            auth = (
                ("AUTH", conf["username"], conf["password"])
                if conf.get("username")
                else ("AUTH", conf["password"])
            )
            writer.write(command(*auth))
            line = await reader.readline()
            if not line.startswith(b"+OK"):
                writer.close()
                raise ConnectionError(f"Redis AUTH failed: {line.decode(errors='replace')}")
        return reader, writer

    async def _run(self) -> None:
        delay, first = 0.05, True
        while True:
            try:
                reader, writer = await asyncio.wait_for(self._connect(), 2.0)
            # (RedisError: Sentinel names no master yet, or no sentinel answers.)
            except (OSError, TimeoutError, ConnectionError, RedisError) as exc:
                if self.connected or first:
                    log.warning("Redis subscriber cannot connect (%s); retrying", exc)
                first = False
                self.connected = False
                if self._on_down is not None:
                    self._on_down()
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 2.0)
                continue
            self._writer = writer
            self.connected = True
            self._last_seen = time.monotonic()
            wanted = [self._heartbeat_channel] if self._heartbeat_channel else []
            wanted += self.channels
            writer.writelines(self._commands(self._verbs[0], wanted))
            if not first:
                self.reconnects += 1
                log.warning("Redis subscriber reconnected; catching up from the database")
                # Messages published while we were away are gone: the hub replays them.
                self._catchup = asyncio.ensure_future(self._on_reconnect())
            first = False
            began = time.monotonic()
            await self._read(reader)
            self._drop()
            if self._on_down is not None:
                self._on_down()
            if time.monotonic() - began < 1.0:
                # Accepted and closed at once (maxclients, a killed client, a node on its way
                # down): back off as after a refusal, not reconnect and catch up in a loop.
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 2.0)
            else:
                delay = 0.05

    async def _read(self, reader: asyncio.StreamReader) -> None:
        parser = hiredis.Reader()
        handler = self._on_message
        kind = b"smessage" if self._sharded else b"message"
        try:
            while True:
                data = await reader.read(262144)
                if not data:
                    log.warning("Redis subscriber connection closed by the server")
                    return
                self._last_seen = time.monotonic()
                parser.feed(data)
                while (reply := parser.gets()) is not False:
                    if isinstance(reply, list) and len(reply) == 3 and reply[0] == kind:
                        channel = reply[1].decode()
                        if channel != self._heartbeat_channel:
                            try:
                                handler(channel, reply[2])
                            except Exception:
                                log.exception("message handler failed on %s", channel)
                    elif isinstance(reply, list) and reply and reply[0] == b"sunsubscribe":
                        self._lost(reply[1].decode())
                    elif isinstance(reply, hiredis.ReplyError):
                        if self._sharded and str(reply).startswith(("MOVED ", "ASK ")):
                            # This node does not serve that slot (any more): its channels
                            # are not subscribed here, and go to whoever owns it now.
                            self._moved(int(str(reply).split()[1]))
                        else:
                            log.error("Redis subscriber error reply: %s", reply)
        except (OSError, hiredis.ProtocolError) as exc:
            log.warning("Redis subscriber connection lost: %s", exc)

    def _lost(self, channel: str) -> None:
        """A SUNSUBSCRIBE arrived: the confirmation of ours, or the node letting go of
        ``channel`` by itself because its slot moved; then another node must take it."""
        pending = self._leaving.get(channel, 0)
        if pending:
            if pending == 1:
                del self._leaving[channel]
            else:
                self._leaving[channel] = pending - 1
        elif channel in self.channels:
            self.channels.discard(channel)
            if self._on_lost is not None:
                self._on_lost(channel)

    def _moved(self, slot: int) -> None:
        """An SSUBSCRIBE was answered MOVED: none of that slot's channels is held here."""
        assert self._slot_of is not None
        gone = [channel for channel in self.channels if self._slot_of(channel) == slot]
        self.channels.difference_update(gone)
        for channel in gone:
            if self._on_lost is not None:
                self._on_lost(channel)

    def _drop(self) -> None:
        self.connected = False
        self._leaving.clear()  # (a new connection subscribes afresh)
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            if not self.connected:
                continue
            if self._publish_heartbeat is None:
                if self._writer is not None:
                    self._writer.write(command("PING"))  # answered even while subscribed
            else:
                with contextlib.suppress(Exception):
                    await self._publish_heartbeat()
            if time.monotonic() - self._last_seen > SILENCE_SECONDS and self._writer:
                log.warning("Redis subscriber silent for %.0fs; reconnecting", SILENCE_SECONDS)
                self._writer.transport.abort()
