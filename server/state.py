"""Everything one server process holds: built without I/O, started by the app lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher

from server.broker import Broker, create_broker
from server.broker.channels import MODERATION_PREFIX
from server.core.authors import AuthorTokens
from server.core.context import Limits, Services
from server.core.erasure import forget_old_data
from server.core.passwords import hasher
from server.core.sites import SiteDirectory
from server.core.wordfold import warm as warm_word_filters
from server.http.thread_cache import ThreadCache
from server.live.moderation_queue import ModerationQueueHub
from server.live.node import LiveNode
from server.metrics import HttpStats
from server.notify import Notifier
from server.runtime import gctune
from server.settings import Settings
from server.store.database import SqlStore
from server.store.migrate import check_migrated

log = logging.getLogger("threadline")


@dataclass
class AppState:
    settings: Settings
    store: SqlStore
    broker: Broker
    hub: LiveNode
    services: Services
    sites: SiteDirectory
    passwords: PasswordHasher
    node_id: str
    modhub: ModerationQueueHub
    notifier: Notifier
    thread_cache: ThreadCache = field(default_factory=ThreadCache)
    http_stats: HttpStats = field(default_factory=HttpStats)
    started_at: float = field(default_factory=time.time)
    shutting_down: bool = False
    _maintenance: asyncio.Task[None] | None = None
    _background: set[asyncio.Task[None]] = field(default_factory=set)

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``work`` after the response (its failures are logged): what a request must not
        wait for, or must not be timed by."""

        async def logged() -> None:
            try:
                await work
            except Exception:
                log.exception("%s failed", name)

        task = asyncio.create_task(logged(), name=f"threadline-{name}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _maintain(self) -> None:
        """Hourly, in every process (it is idempotent): forget IP hashes after 30 days, drop
        expired sessions, blank what moderators deleted 30 days ago."""
        while True:
            try:
                hashes, sessions, texts = await forget_old_data(self.services)
                if hashes or sessions or texts:
                    log.info(
                        "forgot %d IP hashes, %d expired sessions and the text of %d "
                        "comments deleted 30 days ago",
                        hashes,
                        sessions,
                        texts,
                    )
            except Exception:
                log.exception("maintenance failed; retrying in an hour")
            await asyncio.sleep(3600)

    @classmethod
    def build(cls, settings: Settings, clock: Callable[[], float] = time.time) -> AppState:
        node_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        store = SqlStore(settings.database_url)
        broker = create_broker(settings.redis_url, node_id)
        hub = LiveNode(broker, store)
        services = Services(
            store=store,
            publisher=hub,
            limiter=broker,
            tokens=AuthorTokens(settings.secret_key),
            secret=settings.secret_key,
            clock=clock,
            limits=Limits(
                edit_window=settings.edit_window,
                page_size=settings.page_size,
                reply_page_size=settings.reply_page_size,
                rate_limit=settings.rate_limit,
                page_rate_limit=settings.page_rate_limit,
                min_submit_ms=settings.min_submit_ms,
            ),
        )
        modhub = ModerationQueueHub(broker, services)
        hub.route(MODERATION_PREFIX, modhub.on_message)
        sites = SiteDirectory(store)
        notifier = Notifier(settings, sites)
        services.observers.extend([modhub, notifier])
        return cls(
            settings=settings,
            store=store,
            broker=broker,
            hub=hub,
            services=services,
            sites=sites,
            passwords=hasher(settings.password_profile),
            node_id=node_id,
            modhub=modhub,
            notifier=notifier,
        )

    async def start(self) -> None:
        await check_migrated(self.store)
        warm_word_filters()  # before any request, rather than in the first one they read
        self.hub.page_changed.append(self.thread_cache.forget)
        self.hub.all_changed.append(self.thread_cache.clear)
        await self.hub.start()
        await self.notifier.start()
        await self.modhub.start()
        self._maintenance = asyncio.create_task(self._maintain(), name="threadline-maintain")
        gctune.tune()
        log.info(
            "threadline node %s ready (%s, %s)",
            self.node_id,
            self.store.dialect,
            "redis" if self.settings.redis_url else "in-process broker",
        )

    async def close(self) -> None:
        self.shutting_down = True
        if self._maintenance is not None:
            self._maintenance.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._maintenance
        for task in list(self._background):
            task.cancel()
        await self.modhub.close()
        await self.notifier.close()
        await self.hub.close()
        await self.store.close()

    @property
    def secret(self) -> str:
        return self.settings.secret_key
