"""The collaborators and limits every core operation works with."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from server.core.authors import AuthorTokens
from server.core.errors import RateLimited
from server.core.failures import log_failure
from server.core.models import PENDING, Event, QueueChange
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
    mail_digest_ms: int = 600_000  # at most one reader e-mail per subscription this often


@dataclass
class Services:
    store: Store
    publisher: Publisher
    limiter: Counters
    tokens: AuthorTokens
    secret: str
    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], float] = time.time
    # Readers' notifications (the bell, reply e-mail): the operator may turn them off.
    notifications: bool = True
    # Wakes this process's fan-out (core.fanout) for a page a post published on; a command
    # outside a server leaves the page to the servers' next look.
    wake_fanout: Callable[[int], None] = lambda page_id: None
    observers: list[QueueObserver] = field(default_factory=list)
    # Whether this server sends readers mail (SMTP and a public URL set, notifications on;
    # MailOutbox.enabled, where subscribing answers mail_off otherwise):
    # the thread listing tells the widget, which offers e-mail subscriptions only then.
    mail: bool = False

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

    async def publish(self, events: Sequence[Event]) -> list[Event]:
        """Publish committed events; returns them numbered (``settled``). A failure is
        logged, never raised: the database holds the events and every client catches up
        from its ``seq``."""
        if not events:
            return []
        try:
            events = await self.settled(events)
            await self.publisher.publish(events)
        except Exception:  # noqa: BLE001 -- log_failure logs it
            log_failure(
                log,
                "publish failed for %d event(s) on page %s; "
                "clients will catch up from the event table",
                len(events),
                events[0].page_key,
            )
        return list(events)

    async def settled(self, events: Sequence[Event]) -> list[Event]:
        """Committed events with their ``seq`` and page count: a store that numbers events
        at commit (the page's lock held for the commit alone, not from a statement to it)
        left them ``PENDING``; they are read back in one query. An event whose page was
        deleted since is dropped (there is nobody left to tell)."""
        pending = [e.event_id for e in events if e.seq == PENDING and e.event_id is not None]
        if not pending:
            return list(events)
        positions = self.store.numbered(pending)
        missing = [event_id for event_id in pending if event_id not in positions]
        if missing:
            async with self.store.read() as tx:
                positions |= await tx.event_positions(missing)
        out: list[Event] = []
        for event in events:
            if event.seq != PENDING:
                out.append(event)
                continue
            position = positions.get(event.event_id or 0)
            if position is None:
                continue
            seq, count = position
            data = {**event.data, "count": count} if "count" in event.data else event.data
            out.append(replace(event, seq=seq, data=data))
        return out

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

    async def notifications_changed(self, site_id: str, recipients: Sequence[str]) -> None:
        """Ring the doorbells of readers whose notifications changed; a failure is logged,
        never raised: the rows are committed and the reader's next change or reload shows
        them."""
        if not recipients:
            return
        try:
            await self.publisher.notifications_changed(site_id, recipients)
        except Exception:
            log.exception(
                "telling %d reader(s) of site %s their notifications changed failed",
                len(recipients),
                site_id,
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


class NothingToPublish:
    """A publisher with no readers to tell: a command run outside any server (servers
    deliver what was committed from the event table), or a test that reads the database."""

    async def publish(self, events: Sequence[Event]) -> None:
        return None

    async def notify_author(self, site_id: str, author_hash: str, event: Event) -> None:
        return None

    async def reactions_changed(
        self, site_id: str, page_id: int, page_key: str, comment_id: int
    ) -> None:
        return None

    async def notifications_changed(self, site_id: str, recipients: Sequence[str]) -> None:
        return None


class _OutsideAServer(NothingToPublish):
    """Publisher and counters for a command run outside any server (the CLI): nothing to
    publish, and an operator at the console is not rate-limited."""

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
