"""The collaborators and limits every core operation works with."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from server.core.authors import AuthorTokens
from server.core.errors import RateLimited
from server.core.models import Event, QueueChange
from server.core.ports import Counters, Publisher, QueueObserver, Store

log = logging.getLogger("threadline.core")


@dataclass(frozen=True)
class Limits:
    edit_window: int = 900
    page_size: int = 20
    reply_page_size: int = 3
    rate_limit: int = 10  # comments per minute per client network; 0 = off
    page_rate_limit: int = 60  # comments per minute per page, everyone together; 0 = off
    min_submit_ms: int = 3000  # a form sent faster than this after loading is held


@dataclass
class Services:
    store: Store
    publisher: Publisher
    limiter: Counters
    tokens: AuthorTokens
    secret: str
    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], float] = time.time
    observers: list[QueueObserver] = field(default_factory=list)

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    async def check_rate(self, key: str, limit: int, window: float, what: str) -> None:
        if limit <= 0:
            return
        wait = await self.limiter.hit(key, limit, window)
        if wait > 0:
            raise RateLimited(
                "rate_limited", f"too many {what}; try again in {wait:.0f}s", int(wait + 0.999)
            )

    async def publish(self, events: Sequence[Event]) -> None:
        """Publish committed events; a failure is logged, never raised: the database holds
        the events and every client catches up from its ``seq``."""
        if not events:
            return
        try:
            await self.publisher.publish(events)
        except Exception:
            log.exception(
                "publish failed for %d event(s) on page %s (seq %d..%d); "
                "clients will catch up from the event table",
                len(events),
                events[0].page_key,
                events[0].seq,
                events[-1].seq,
            )

    async def reactions_changed(
        self, site_id: str, page_id: int, page_key: str, comment_id: int
    ) -> None:
        """Tell live readers a comment's reaction totals changed; a failure is logged, never
        raised: the totals are committed and every reload (and the next change) shows them."""
        try:
            await self.publisher.reactions_changed(site_id, page_id, page_key, comment_id)
        except Exception:
            log.exception(
                "publishing the reaction totals of comment %d on page %s failed",
                comment_id,
                page_key,
            )

    async def queue_changed(self, change: QueueChange) -> None:
        """Tell the live queue, webhooks and e-mail; their failures never fail the write."""
        for observer in self.observers:
            try:
                await observer.queue_changed(change)
            except Exception:
                log.exception(
                    "moderation observer %r failed for comment %d", observer, change.comment.id
                )


class _OutsideAServer:
    """Publisher and counters for a command run outside any server (the CLI): there are no
    readers here to publish to (servers deliver what was committed from the event table)
    and an operator at the console is not rate-limited."""

    async def publish(self, events: Sequence[Event]) -> None:
        return None

    async def notify_author(self, site_id: str, author_hash: str, event: Event) -> None:
        return None

    async def reactions_changed(
        self, site_id: str, page_id: int, page_key: str, comment_id: int
    ) -> None:
        return None

    async def hit(self, key: str, limit: int, window: float) -> float:
        return 0.0

    async def peek(self, key: str) -> int:
        return 0

    async def reset(self, key: str) -> None:
        return None

    async def release(self, key: str) -> None:
        return None


def command_services(store: Store, secret: str, clock: Callable[[], float] = time.time) -> Services:
    """The services a command-line use-case runs with: the same store, clock and rules as a
    server's, with nothing to publish and nothing to rate-limit."""
    outside = _OutsideAServer()
    return Services(
        store=store,
        publisher=outside,
        limiter=outside,
        tokens=AuthorTokens(secret),
        secret=secret,
        clock=clock,
    )
