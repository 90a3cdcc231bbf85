"""Delivering the mail outbox: a worker in every server process sends what core queued
(confirmations, replies, digests), with retries, a per-site daily cap and digests.

Claims are short write transactions: due rows are locked with ``FOR UPDATE SKIP LOCKED``
(PostgreSQL; SQLite has one writer at a time) and pushed ahead by a lease before the
transaction commits, so another process never takes a row this one is sending. SMTP runs
in a thread, outside any transaction, with a timeout; posting only ever inserts rows, so a
slow or dead SMTP server never slows it.

Digests: a subscription is sent at most one mail per ``THREADLINE_MAIL_DIGEST_SECONDS``.
Its first row goes at once; rows that come due inside the window are moved to its end and
then go out together, as one digest. The window starts when a mail is claimed, so a second
process cannot send the next reply while the first is still talking to SMTP.

No address is ever logged: log lines name the outbox row, the site and the subscription."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from email.message import EmailMessage
from urllib.parse import quote

from server.core.failures import log_failure
from server.core.models import Page, Status
from server.core.ports import Store, Tx
from server.core.subscriptions import (
    CONFIRM_LINK,
    MANAGE_LINK,
    UNSUBSCRIBE_LINK,
    address_sealer,
    sign_link,
)
from server.core.transactions.subscriptions import CONFIRM, OutboxRow
from server.mail import messages, smtp
from server.settings import Settings

log = logging.getLogger("threadline.mail")
DAY_MS = 86_400_000
BATCH = 50
LEASE_MS = 120_000  # longer than a send can take (timeout + thread start)
SEND_TIMEOUT = 15.0
# Seconds before each retry; after the last one the row is given up (and logged).
RETRIES = (30.0, 120.0, 600.0, 1800.0, 3600.0, 3600.0)


@dataclass(frozen=True)
class Job:
    """Rows sent as one mail: a confirmation, or a subscription's replies (a digest)."""

    site_id: str
    kind: str
    rows: list[OutboxRow]
    opened_before: int | None = None  # the subscription's window before this claim
    claimed_at: int | None = None  # the window this claim opened

    @property
    def ids(self) -> list[int]:
        return [row.id for row in self.rows]

    @property
    def attempts(self) -> int:
        return max(row.attempts for row in self.rows)


class MailOutbox:
    """The per-process sender. Started only when ``THREADLINE_SMTP_URL`` is set."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        clock: Callable[[], float] = time.time,
        *,
        poll: float = 1.0,
        retries: tuple[float, ...] = RETRIES,
        send_timeout: float = SEND_TIMEOUT,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.poll = poll
        self.retries = retries
        self.send_timeout = send_timeout
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._wake = asyncio.Event()

    @property
    def enabled(self) -> bool:
        return bool(
            self.settings.notifications and self.settings.smtp_url and self.settings.public_url
        )

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    async def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._run(), name="threadline-mail-outbox")

    async def close(self) -> None:
        """Stop after the round in progress (a round cut mid-transaction would leave its
        rows leased for nothing); cancel it only if it outlasts a send's deadline."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), self.send_timeout + 10)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        """Look at the outbox now instead of at the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                busy = await self.run_once()
            except Exception:  # noqa: BLE001 -- log_failure logs it
                log_failure(log, "mail outbox round failed; retrying")
                busy = 0
            if busy >= BATCH or self._stopping:
                continue  # more is due: no pause (or stopping: no wait)
            # (asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
            # that meets its timeout, and shutdown then waits on this task for ever.)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll):
                    await self._wake.wait()
            self._wake.clear()

    async def run_once(self) -> int:
        """Claim what is due and send it; how many rows were claimed."""
        jobs = await self._claim()
        for job in jobs:
            await self._deliver(job)
        return sum(len(job.rows) for job in jobs)

    async def _claim(self) -> list[Job]:
        window = self.settings.mail_digest_seconds * 1000
        jobs: list[Job] = []
        async with self.store.write() as tx:
            now = self.now_ms()
            taken: set[int] = set()
            for row in await tx.due_mail(now, BATCH):
                if row.id in taken:
                    continue
                if row.kind == CONFIRM:
                    rows = [row]
                else:
                    if row.subscription_id is None:
                        await tx.mark_mail_sent([row.id], now)
                        continue
                    # Locked first: two processes claiming rows of one subscription take
                    # turns here, and the second sees the window the first just opened.
                    followed = await tx.subscription(row.subscription_id, for_update=True)
                    if followed is None:
                        continue
                    rows = await tx.unsent_mail_of(followed.id, now)
                    if not rows:
                        continue
                    taken.update(r.id for r in rows)
                    opened = followed.last_sent_at
                    if opened is not None and opened + window > now:
                        await tx.schedule_mail([r.id for r in rows], opened + window, tried=False)
                        continue
                if row.kind == CONFIRM and not await tx.count_mail_sent(
                    row.site_id, now // DAY_MS, self._cap() // 2
                ):
                    # Confirmations may take half the day's mail at most, and never carry
                    # over: a burst of them (to addresses nobody vouched for) cannot starve
                    # readers' replies, today or tomorrow.
                    await tx.mark_mail_sent([row.id], now)
                    log.warning("site %s: confirmation dropped at the daily cap", row.site_id)
                    continue
                if row.kind != CONFIRM and not await tx.count_mail_sent(
                    row.site_id, now // DAY_MS, self._cap()
                ):
                    tomorrow = (now // DAY_MS + 1) * DAY_MS
                    await tx.schedule_mail([r.id for r in rows], tomorrow, tried=False)
                    log.warning(
                        "site %s reached its daily e-mail cap; %d mail(s) wait for tomorrow",
                        row.site_id,
                        len(rows),
                    )
                    continue
                await tx.schedule_mail([r.id for r in rows], now + LEASE_MS, tried=True)
                opened_before = None
                if row.kind != CONFIRM and row.subscription_id is not None:
                    opened_before = opened
                    await tx.mark_subscription_sent(row.subscription_id, now)
                tried = [_tried(r) for r in rows]
                jobs.append(Job(row.site_id, row.kind, tried, opened_before, claimed_at=now))
        return jobs

    def _cap(self) -> int:
        return self.settings.mail_daily_cap

    async def _deliver(self, job: Job) -> None:
        try:
            async with self.store.read() as tx:
                built = await self._build(tx, job)
        except Exception as exc:  # noqa: BLE001 -- log_failure logs it
            # Not "nothing to tell": the mail is tried again later, like a failed send
            # (marking it sent here lost the mail to a database blip).
            log_failure(log, "building mail for outbox rows %s failed", job.ids)
            await self._failed(job, exc)
            return
        if built is None:  # nothing left to tell (the comments left public view)
            async with self.store.write() as tx:
                await tx.mark_mail_sent(job.ids, self.now_ms())
                await self._reopen_window(tx, job)  # the next news is not held back
            return
        url = self.settings.smtp_url
        assert url is not None
        try:
            await asyncio.wait_for(
                asyncio.to_thread(smtp.send, url, built, self.send_timeout),
                # Past the thread's own whole-send deadline: a send still running when this
                # gave up would be retried while it delivers (the same mail twice).
                self.send_timeout * smtp.WHOLE_SEND_STEPS + 5,
            )
        except (smtp.MailFailed, OSError) as exc:  # OSError: the thread's deadline
            await self._failed(job, exc)
            return
        async with self.store.write() as tx:
            await tx.mark_mail_sent(job.ids, self.now_ms())

    async def _failed(self, job: Job, exc: Exception) -> None:
        now = self.now_ms()
        async with self.store.write() as tx:
            if job.attempts > len(self.retries):
                await tx.mark_mail_sent(job.ids, now)
                log.error(
                    "gave up a %s mail of site %s after %d attempts (outbox rows %s): %s",
                    job.kind,
                    job.site_id,
                    job.attempts,
                    job.ids,
                    type(exc).__name__,
                )
                return
            delay = self.retries[job.attempts - 1]
            await tx.schedule_mail(job.ids, now + int(delay * 1000), tried=False)
            # Nothing went out: the retry is not held back as a digest.
            await self._reopen_window(tx, job)
        log.warning(
            "sending a %s mail of site %s failed (%s, attempt %d); retrying in %.0fs",
            job.kind,
            job.site_id,
            type(exc).__name__,
            job.attempts,
            delay,
        )

    async def _reopen_window(self, tx: Tx, job: Job) -> None:
        """Nothing went out: the digest window the claim opened closes again, and news a
        fan-out queued meanwhile (due at that window's end) is due when it would have
        been without the claim."""
        first = job.rows[0]
        if job.kind == CONFIRM or first.subscription_id is None or job.claimed_at is None:
            return
        # Only the window this claim opened: a later claim's (its own mail under way) stays.
        if not await tx.reopen_window(first.subscription_id, job.claimed_at, job.opened_before):
            return
        now = self.now_ms()
        window = self.settings.mail_digest_seconds * 1000
        due = now if job.opened_before is None else max(now, job.opened_before + window)
        await tx.pull_open_mail(first.subscription_id, due)

    async def _build(self, tx: Tx, job: Job) -> EmailMessage | None:
        first = job.rows[0]
        stored = await tx.mail_address(first.address_id)
        site = await tx.find_site(job.site_id)
        if stored is None or site is None:
            return None
        address = address_sealer(self.settings.secret_key).open(stored.sealed)
        if address is None:
            return None
        base = (self.settings.public_url or "").rstrip("/")
        manage_url = _link(
            base,
            "manage",
            sign_link(self.settings.secret_key, MANAGE_LINK, [site.id, stored.digest]),
        )
        followed = (
            await tx.subscription(first.subscription_id)
            if first.subscription_id is not None
            else None
        )
        if followed is None:
            return None
        if job.kind == CONFIRM:
            confirm_url = _link(
                base,
                "confirm",
                sign_link(self.settings.secret_key, CONFIRM_LINK, [stored.id, stored.digest]),
            )
            mail = messages.confirmation(
                site.name,
                stored.lang,
                followed.scope,
                confirm_url,
                manage_url,
            )
        else:
            # Each comment once: an open mail may list one twice (approved, held again and
            # approved), and one an earlier mail told (before it was held again) is no news.
            told = await tx.told_comment_ids(followed.id)
            listed = {i for row in job.rows for i in row.comment_ids} - told
            found = await tx.find_comments(sorted(listed))
            items = []
            pages: dict[int, Page | None] = {}  # a thread's digest: one page, many comments
            for comment in sorted(found.values(), key=lambda c: (c.created_at, c.id)):
                if comment.status is not Status.APPROVED:
                    continue  # held again, rejected or erased since it was queued
                if comment.page_id not in pages:
                    pages[comment.page_id] = await tx.find_page_by_id(comment.page_id)
                page = pages[comment.page_id]
                page_url = page.url if page else None
                items.append(
                    messages.ReplyItem(
                        author_name=comment.author_name,
                        excerpt=comment.body,
                        page_title=page.title if page else None,
                        page_url=page_url,
                        comment_url=f"{page_url}#threadline-comment-{comment.id}"
                        if page_url
                        else None,
                        created_at=comment.created_at,
                        moderator=comment.moderator,
                    )
                )
            if not items:
                return None
            unsubscribe_url = _link(
                base,
                "unsubscribe",
                sign_link(self.settings.secret_key, UNSUBSCRIBE_LINK, [followed.id, stored.digest]),
            )
            mail = messages.replies(
                site.name,
                stored.lang,
                followed.scope,
                items,
                unsubscribe_url,
                manage_url,
            )
        return messages.to_message(mail, self.settings.smtp_from, address, site.id)


def _tried(row: OutboxRow) -> OutboxRow:
    """The row as claimed: one more attempt."""
    return replace(row, attempts=row.attempts + 1)


def _link(base: str, page: str, token: str) -> str:
    return f"{base}/mail/{page}?t={quote(token, safe='')}"
