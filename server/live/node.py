"""This process in the live network: its broker subscription, what each channel's messages
are for, and the ``Publisher`` core writes through.

Committed events go to local readers at once and to the other processes through the
broker; what the broker brings is dispatched by channel: a page channel to its room, any
other by prefix to the handler routed there (caches forgetting a page, the moderators'
queue, readers' notification doorbells)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from server.broker.base import Broker, MessageHandler
from server.broker.channels import FORGET_CHANNEL, READER_PREFIX, page_channel, reader_channel
from server.broker.messages import (
    AUTHOR,
    EVENT,
    PRESENCE,
    REACTIONS,
    REDACTS,
    forget_message,
    pack,
    read_forget_message,
    unpack,
)
from server.core.events import REDACTING
from server.core.models import Event
from server.core.ports import Store
from server.live.frames import Frame, event_frame
from server.live.presence import PresenceTracker, TypingRelay
from server.live.reaction_counts import ReactionCounts
from server.live.readers import ReaderRegistry
from server.live.room import Room
from server.live.rooms import RoomRegistry
from server.metrics import LiveStats

log = logging.getLogger("threadline.live")


class LiveNode:
    """Owns the broker subscription; its roles are ``rooms``, ``presence`` and ``typing``."""

    def __init__(self, broker: Broker, store: Store) -> None:
        self.broker = broker
        self.stats = LiveStats()
        self.presence = PresenceTracker(broker, broker)
        self.typing = TypingRelay(broker, broker)
        self.rooms = RoomRegistry(broker, broker, store, self.presence, self.stats)
        # The registry's own dict, bound once: a page message costs one lookup, no call.
        self._rooms = self.rooms.by_channel
        # Channels that are not pages, by prefix (few, and rare next to page messages).
        self._routes: dict[str, MessageHandler] = {FORGET_CHANNEL: self._on_forget}
        # Told (site id, page key) of every durable event seen here, and of every redacting
        # one anywhere: caches forget the page. After a broker outage: forget everything.
        self.page_changed: list[Callable[[str, str], None]] = []
        self.all_changed: list[Callable[[], None]] = []
        # Reaction totals, coalesced per room; each frame sent forgets the page's caches.
        self.reaction_counts = ReactionCounts(
            store, self._rooms, lambda room: self._page_changed(room.page.site_id, room.key)
        )
        self.rooms.closed.append(self.reaction_counts.forget)
        # Readers with sockets here, for their live unread notifications count.
        self.readers = ReaderRegistry(broker, store, broker.node_id)
        self._routes[READER_PREFIX] = self.readers.on_message

    @property
    def connections(self) -> int:
        return self.rooms.connections

    def route(self, prefix: str, handler: MessageHandler) -> None:
        """Send broker messages on channels starting with ``prefix`` to ``handler``."""
        self._routes[prefix] = handler

    async def start(self) -> None:
        await self.broker.start(self._on_message, self._on_reconnect)
        await self.broker.subscribe(FORGET_CHANNEL)
        self.presence.start()
        self.rooms.start()

    async def close(self) -> None:
        await self.reaction_counts.close()
        await self.readers.close()
        await self.presence.close()
        await self.rooms.close()
        await self.broker.close()

    # -- Publisher (called by core after commit) -----------------------------------------
    async def publish(self, events: Sequence[Event]) -> None:
        for event in events:
            channel = page_channel(event.site_id, event.page_id)
            out = event_frame(event)  # serialised once for every reader in every process
            self._page_changed(event.site_id, event.page_key)
            redacts = event.type in REDACTING
            room = self._rooms.get(channel)
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

    async def notify_author(self, site_id: str, author_hash: str, event: Event) -> None:
        channel = page_channel(site_id, event.page_id)
        await self.broker.publish(channel, pack(AUTHOR, 0, author_hash, event_frame(event).data))

    async def reactions_changed(
        self, site_id: str, page_id: int, page_key: str, comment_id: int
    ) -> None:
        channel = page_channel(site_id, page_id)
        room = self._rooms.get(channel)
        if room is not None:
            self.reaction_counts.rang(room, comment_id)  # its flush forgets cached pages
        else:
            self._page_changed(site_id, page_key)
        await self.broker.publish(
            channel, pack(REACTIONS, 0, self.broker.node_id, b"%d" % comment_id)
        )

    async def notifications_changed(self, site_id: str, recipients: Sequence[str]) -> None:
        node = self.broker.node_id.encode()
        for recipient in dict.fromkeys(recipients):
            channel = reader_channel(site_id, recipient)
            self.readers.rang(channel)  # this process's sockets of the reader, at once
            await self.broker.publish(channel, node)

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

    # -- broker callbacks ----------------------------------------------------------------
    def _on_message(self, channel: str, message: bytes) -> None:
        room = self._rooms.get(channel)
        if room is None:
            for prefix, handler in self._routes.items():
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
            self.presence.heard(room)
        elif kind == REACTIONS and target != self.broker.node_id:
            # (The ringing process rang its own room already.)
            self.reaction_counts.rang(room, int(data))

    async def _on_reconnect(self) -> None:
        # Messages in the gap are lost, forget doorbells included.
        self.stats.catch_ups += 1
        for listener in self.all_changed:
            listener()
        self.readers.all_rang()
        for room in list(self._rooms.values()):
            room.catch_up()
            self.presence.changed(room)
