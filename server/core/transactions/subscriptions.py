"""What a transaction offers on e-mail subscriptions: readers' sealed addresses, what they
follow, the durable outbox of mail to send, the daily count per site and the confirmation
throttle (issue #18)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

CONFIRM = "confirm"
REPLY = "reply"
# An open mail takes news until its list of ids is this long (some 100 ids); then it is
# full, and the next news opens another (the subscription's unsent rows go out as one
# mail). A hot thread's open row is not rewritten ever longer every batch.
LISTED_CHARACTERS = 1000


@dataclass(frozen=True, slots=True)
class StoredAddress:
    id: int
    site_id: str
    digest: str
    sealed: str
    author_hash: str
    lang: str
    created_at: int
    confirmed_at: int | None


@dataclass(frozen=True, slots=True)
class StoredSubscription:
    id: int
    site_id: str
    address_id: int
    scope: str
    comment_id: int
    page_id: int
    created_at: int
    last_sent_at: int | None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One mail to send: a confirmation, or a subscription's news (the comments it tells
    of, oldest first)."""

    id: int
    site_id: str
    kind: str
    address_id: int
    subscription_id: int | None
    comment_ids: tuple[int, ...]
    due_at: int
    attempts: int


@dataclass(frozen=True, slots=True)
class NewMail:
    """Comments a subscription is to hear of: they join its open mail (one not yet tried),
    or open one due at ``due_at``."""

    site_id: str
    address_id: int
    subscription_id: int
    comment_ids: tuple[int, ...]
    created_at: int
    due_at: int


class SubscriptionsTx(Protocol):
    """Addresses, subscriptions and the mail outbox."""

    async def find_mail_address(
        self, site_id: str, digest: str, author_hash: str
    ) -> StoredAddress | None: ...

    async def add_mail_address(
        self, site_id: str, digest: str, sealed: str, author_hash: str, lang: str, now: int
    ) -> StoredAddress: ...

    async def mail_address(self, address_id: int) -> StoredAddress | None: ...

    async def confirm_mail_address(self, address_id: int, now: int) -> None: ...

    async def claim_confirmation(self, digest: str, now: int, since: int) -> bool:
        """Record that ``digest`` is sent a confirmation now, unless one was recorded after
        ``since`` (on any site): True when this caller may send it. Atomic: of two
        concurrent callers one wins."""
        ...

    async def find_subscription(
        self, address_id: int, scope: str, comment_id: int, page_id: int
    ) -> StoredSubscription | None: ...

    async def add_subscription(
        self, site_id: str, address_id: int, scope: str, comment_id: int, page_id: int, now: int
    ) -> StoredSubscription: ...

    async def subscription(
        self, subscription_id: int, *, for_update: bool = False
    ) -> StoredSubscription | None: ...

    async def subscriptions_of_digest(self, site_id: str, digest: str) -> list[StoredSubscription]:
        """Every subscription on the site of any address row with ``digest``."""
        ...

    async def delete_subscriptions(self, subscription_ids: Sequence[int]) -> None: ...

    async def subscribers_of(
        self, site_id: str, page_id: int, comment_ids: Sequence[int]
    ) -> list[tuple[StoredSubscription, StoredAddress]]:
        """Subscriptions of confirmed addresses that hear of a comment published on the
        page: ``thread`` ones of the page, ``replies`` ones to any of ``comment_ids``."""
        ...

    async def followers(
        self, page_ids: Sequence[int], comment_ids: Sequence[int]
    ) -> list[tuple[StoredSubscription, StoredAddress]]:
        """Confirmed subscriptions following these pages' threads or replies to these
        comments, with their addresses."""
        ...

    async def enqueue_mails(self, news: Sequence[NewMail]) -> None:
        """Each subscription's news, one statement for all: appended to the subscription's
        open mail (a reply row not yet tried, its list shorter than ``LISTED_CHARACTERS``),
        or a new one. At most one open mail per subscription (a unique index)."""
        ...

    async def enqueue_confirmation(
        self, site_id: str, address_id: int, subscription_id: int, now: int
    ) -> None:
        """Queue the confirmation mail an address is sent once, due now."""
        ...

    async def delete_mail_addresses_of(self, site_id: str, author_hash: str) -> None:
        """A reader's addresses on the site, with their subscriptions and queued mail."""
        ...

    async def delete_mail_about(self, comment_ids: Sequence[int]) -> None:
        """Take these comments out of queued (unsent) mail; a mail left telling of nothing
        goes."""
        ...

    async def pull_open_mail(self, subscription_id: int, due_at: int) -> None:
        """The subscription's open mail due by ``due_at`` at the latest (unless another
        transaction holds it: it is being claimed, or erased)."""
        ...

    async def told_comment_ids(self, subscription_id: int) -> set[int]:
        """The comments the subscription's sent mail told of (while those rows are kept)."""
        ...

    async def due_mail(self, now: int, limit: int) -> list[OutboxRow]:
        """Unsent rows due by ``now``, oldest first, locked for this transaction; rows
        another transaction holds are skipped (PostgreSQL ``SKIP LOCKED``)."""
        ...

    async def unsent_mail_of(self, subscription_id: int, now: int) -> list[OutboxRow]:
        """A subscription's unsent rows, locked (skipping held ones): every untried one,
        whenever due, and those tried before that are due again by ``now`` (not one a
        sender has leased, nor one waiting out its retry)."""
        ...

    async def schedule_mail(self, outbox_ids: Sequence[int], due_at: int, tried: bool) -> None:
        """Move rows to ``due_at``; ``tried`` counts one more attempt."""
        ...

    async def mark_mail_sent(self, outbox_ids: Sequence[int], now: int) -> None: ...

    async def mark_subscription_sent(self, subscription_id: int, now: int | None) -> None: ...

    async def reopen_window(
        self, subscription_id: int, claimed_at: int, opened_before: int | None
    ) -> bool:
        """Put the subscription's window back to ``opened_before`` if it is still the one
        opened at ``claimed_at``; whether it was."""
        ...

    async def count_mail_sent(self, site_id: str, day: int, cap: int) -> bool:
        """Count one mail sent by the site on ``day`` if fewer than ``cap`` were: False
        when the cap is reached."""
        ...

    async def purge_mail(
        self, sent_before: int, throttled_before: int, unconfirmed_before: int
    ) -> None:
        """Forget sent outbox rows, daily counts and throttle entries older than these, and
        addresses never confirmed (with what they asked for) made before the last."""
        ...
