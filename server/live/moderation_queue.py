"""The live queue: moderators' sockets hear every queue change and who is reviewing what."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from dataclasses import dataclass

import orjson

from server.broker.base import PubSub
from server.broker.channels import moderation_channel, site_of_moderation_channel
from server.broker.messages import EVENT, pack, unpack
from server.core.accounts import access_lost, session_by_hash
from server.core.context import Services
from server.core.failures import log_failure
from server.core.models import Moderator, QueueChange
from server.core.queue import QueueItem, tab_of
from server.live.connection import LiveConnection
from server.live.frames import Close, Frame

log = logging.getLogger("threadline.moderation")
# Every socket's session and grants are read again this often, in every process: logout,
# `moderator remove`, a deleted account or an expired session closes it within this time
# (plus one read), whichever process or command caused it.
ACCESS_EVERY = 2.0
COUNTS_DELAY = 0.1  # queue changes this close together share one count query per site


@dataclass(eq=False)
class ModeratorSocket:
    """A moderator's socket: the connection, who they are, what they see."""

    conn: LiveConnection
    moderator: Moderator
    sites: list[str]
    session: str  # the session's token hash: the socket lives only as long as it does
    reviewing: int | None = None

    @property
    def id(self) -> str:
        return self.conn.id

    def push(self, text: str) -> None:
        self.conn.push(Frame.of(text))


class ModerationQueueHub:
    """Implements ``QueueObserver``: every process hears every change through the broker and
    forwards it to its own moderators of that site."""

    def __init__(self, pubsub: PubSub, svc: Services) -> None:
        self.pubsub = pubsub
        self.svc = svc
        self.by_site: dict[str, set[ModeratorSocket]] = defaultdict(set)
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
            except Exception:  # noqa: BLE001 -- log_failure logs it
                log_failure(log, "could not check moderators' access; retrying")

    async def check_access(self) -> None:
        """Close every socket whose moderator lost the session or a site it shows."""
        sockets = {socket for members in self.by_site.values() for socket in members}
        for socket in sockets:
            session = await session_by_hash(self.svc, socket.session, touch=False)
            reason = access_lost(session, socket.sites)
            if reason is not None:
                socket.conn.drop(Close.POLICY, reason)

    async def queue_changed(self, change: QueueChange) -> None:
        # Rendered once, here, from what the change carries: the processes that forward it
        # read nothing, and only the moderators of its site hear its channel. So a signed-in
        # reader's comment shows its verified mark, name and avatar's host (the comment
        # carries them), not the site's user id: the page shows that on the next load.
        item = QueueItem(change.comment, change.page, change.replying_to)
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
        await self.pubsub.publish(moderation_channel(change.site_id), pack(EVENT, 0, "", data))

    def on_message(self, channel: str, message: bytes) -> None:
        site = site_of_moderation_channel(channel)
        sockets = self.by_site.get(site)
        if not sockets:
            return
        _kind, _seq, skip, data = unpack(message)
        out = Frame(data)
        for member in sockets:
            if member.id != skip:
                member.conn.push(out)
        if data.startswith(b'{"type":"queue.changed"') and site not in self._counts:
            # Coalesced: one count query per site per burst, not one per change.
            self._counts[site] = asyncio.create_task(self._send_counts(site))

    async def _send_counts(self, site: str) -> None:
        """Each moderator's tab counts are totals over the sites their page shows."""
        try:
            await asyncio.sleep(COUNTS_DELAY)
            groups: dict[tuple[str, ...], list[ModeratorSocket]] = defaultdict(list)
            for socket in self.by_site.get(site, ()):
                groups[tuple(socket.sites)].append(socket)
            for sites, sockets in groups.items():
                async with self.svc.store.read() as tx:
                    counts = await tx.queue_counts(sites)
                text = orjson.dumps({"type": "counts", "data": counts}).decode()
                for socket in sockets:
                    socket.push(text)
        except Exception:  # noqa: BLE001 -- log_failure logs it
            log_failure(log, "could not count the queue of %s", site)
        finally:
            self._counts.pop(site, None)

    async def join(self, socket: ModeratorSocket) -> None:
        for site in socket.sites:
            if not self.by_site[site]:
                await self.pubsub.subscribe(moderation_channel(site))
            self.by_site[site].add(socket)

    async def leave(self, socket: ModeratorSocket) -> None:
        if socket.reviewing:
            await self.reviewing(socket, None)
        for site in socket.sites:
            sockets = self.by_site.get(site)
            if sockets is None:
                continue
            sockets.discard(socket)
            if not sockets:
                del self.by_site[site]
                await self.pubsub.unsubscribe(moderation_channel(site))

    async def reviewing(self, socket: ModeratorSocket, comment_id: int | None) -> None:
        socket.reviewing = comment_id
        for site in socket.sites:
            data = orjson.dumps(
                {
                    "type": "reviewing",
                    "site": site,
                    "data": {"id": comment_id, "by": socket.moderator.label, "conn": socket.id},
                }
            )
            await self.pubsub.publish(moderation_channel(site), pack(EVENT, 0, socket.id, data))
