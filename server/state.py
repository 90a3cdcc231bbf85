"""What one server process holds, as a plain dataclass, and the one typed way to reach it
from a request or a websocket. ``server.app`` builds, starts and stops it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from starlette.requests import HTTPConnection

from server.broker import Broker
from server.core.context import Services
from server.core.errors import Unavailable
from server.core.sites import SiteDirectory
from server.fanout_worker import FanOutWorker
from server.http.thread_cache import ThreadCache
from server.live.moderation_queue import ModerationQueueHub
from server.live.node import LiveNode
from server.mail.outbox import MailOutbox
from server.metrics import HttpStats
from server.notify import Notifier
from server.settings import Settings
from server.store.database import SqlStore

log = logging.getLogger("threadline")


class BackgroundWork:
    """Work a request starts and must not wait for (or be timed by): each task is kept
    until it ends, so it is not collected half-way, and its failure is logged."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        async def logged() -> None:
            try:
                await work
            except Unavailable as exc:
                # One-shot (a reset mail, a cache refresh): nothing tries it again, so it is
                # a warning even while the database's outage is logged elsewhere.
                log.warning("%s failed and is not retried (%s)", name, exc.code)
            except Exception:
                log.exception("%s failed", name)

        task = asyncio.create_task(logged(), name=f"threadline-{name}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def cancel(self) -> None:
        for task in list(self.tasks):
            task.cancel()


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
    mail: MailOutbox
    fanout: FanOutWorker
    thread_cache: ThreadCache = field(default_factory=ThreadCache)
    http_stats: HttpStats = field(default_factory=HttpStats)
    background: BackgroundWork = field(default_factory=BackgroundWork)
    started_at: float = field(default_factory=time.time)
    shutting_down: bool = False
    maintenance: asyncio.Task[None] | None = None

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``work`` after the response; its failures are logged."""
        self.background.spawn(work, name)

    @property
    def secret(self) -> str:
        return self.settings.secret_key


def app_state(connection: HTTPConnection) -> AppState:
    """This process's state, from any request or websocket of the app ``server.app`` built."""
    state: AppState = connection.app.state.tl
    return state
