"""What core needs from its collaborators, as Protocols the adapters implement."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from server.core.models import Event, QueueChange
from server.core.transactions.accounts import AccountsTx
from server.core.transactions.comments import CommentsTx
from server.core.transactions.comments import NewComment as NewComment
from server.core.transactions.events import EventsTx
from server.core.transactions.fanout import FanOutTx
from server.core.transactions.identities import SingleSignOnTx
from server.core.transactions.imports import ImportsTx
from server.core.transactions.maintenance import MaintenanceTx
from server.core.transactions.moderation import ModerationTx
from server.core.transactions.notifications import NotificationsTx
from server.core.transactions.pages import PagesTx
from server.core.transactions.ranking import RankingTx
from server.core.transactions.reactions import ReactionsTx
from server.core.transactions.sites import SitesTx
from server.core.transactions.subscriptions import SubscriptionsTx


class Tx(
    SitesTx,
    PagesTx,
    CommentsTx,
    EventsTx,
    ModerationTx,
    AccountsTx,
    ImportsTx,
    MaintenanceTx,
    SingleSignOnTx,
    RankingTx,
    ReactionsTx,
    NotificationsTx,
    SubscriptionsTx,
    FanOutTx,
    Protocol,
):
    """One database transaction. Writes commit together or not at all.

    It joins the slices in ``server.core.transactions``; a core function that is handed a
    transaction declares the slice it uses instead, so its signature tells what it touches."""


class Store(Protocol):
    def read(self) -> AbstractAsyncContextManager[Tx]: ...
    def write(self) -> AbstractAsyncContextManager[Tx]: ...

    def numbered(self, event_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """The seq and page count of events this process's writes committed ``PENDING``,
        where the store read them back as it committed (each given once); the others are
        read with ``event_positions``."""
        ...


class Counters(Protocol):
    """Fixed-window counters shared by every process (Redis) or kept in this one: what the
    rate limits count with."""

    async def hit(self, key: str, limit: int, window: float) -> float:
        """Count a hit; 0 if allowed, else the seconds until the window frees up."""
        ...

    async def peek(self, key: str) -> int:
        """Hits counted in the key's current window (0 when none)."""
        ...

    async def reset(self, key: str) -> None: ...

    async def release(self, key: str) -> None:
        """Give back one hit counted in the key's current window."""
        ...


class QueueObserver(Protocol):
    """Hears of every comment entering or changing a moderation state (the live queue,
    webhooks, e-mail)."""

    async def queue_changed(self, change: QueueChange) -> None: ...


class Publisher(Protocol):
    """Delivers committed events to live readers. Called only after commit."""

    async def publish(self, events: Sequence[Event]) -> None: ...
    async def notify_author(self, site_id: str, author_hash: str, event: Event) -> None: ...
    async def reactions_changed(
        self, site_id: str, page_id: int, page_key: str, comment_id: int
    ) -> None:
        """A comment's reaction totals changed (committed): readers get the new totals,
        coalesced, read back from the store."""
        ...

    async def notifications_changed(self, site_id: str, recipients: Sequence[str]) -> None:
        """The notifications of these readers (author hashes) changed (committed): their
        open sockets get their unread count, coalesced, read back from the store."""
        ...
