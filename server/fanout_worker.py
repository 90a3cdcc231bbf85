"""This process's fan-out (``core.fanout``): woken by each post it took, with the post's
page; every second it looks (by the events' primary key) for pages other processes or
commands stored events on, and once a minute (and at start) for pages nobody's fan-out read
to the end (a process that stopped between a post's commit and its fan-out).

A wake waits ``GATHER`` seconds before it runs, so a busy page's posts go out as one batch
(one statement each for all their notifications and mail) instead of one by one: a reader
still hears within a second, and the write path pays per batch, not per post. A page
another process's fan-out holds is tried again a few times, then left to the next look."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from server.core.context import Services
from server.core.failures import log_failure
from server.core.fanout import BATCH, fan_out

log = logging.getLogger("threadline.fanout")
GATHER = 0.25
POLL = 1.0  # seconds between looks for events stored elsewhere
LOOK = 60.0  # seconds between looks for pages left behind
POLLED = 1000  # event ids a poll reads back from the newest it saw (and pages at most)
TRIES = 40  # a page held by another process is tried this often (~10 s) before the next look
FAILED_PAUSE = 1.0  # seconds after a failed batch, so a lasting fault is not a log flood


class FanOutWorker:
    def __init__(
        self, services: Services, gather: float = GATHER, poll: float = POLL, look: float = LOOK
    ) -> None:
        self.services = services
        self.gather = gather
        self.poll = poll
        self.look = look
        self._seen: int | None = None  # the newest event id a poll saw
        self._poll_failing: str | None = None  # the kind of failure logged, while it lasts
        self.batches = 0
        self.comments = 0
        # Seconds in batches' transactions (BEGIN to COMMIT, not the wait for SQLite's write
        # lock): what telling readers takes of this process, for /metrics and the bench.
        self.busy_seconds = 0.0
        self._pages: dict[int, int] = {}  # page id -> tries left
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self, page_id: int) -> None:
        self._pages[page_id] = TRIES
        self._wake.set()

    async def start(self) -> None:
        if not self.services.notifications:
            return  # nothing to tell (turned on again, what was posted meanwhile is old news)
        self.services.wake_fanout = self.wake
        self._task = asyncio.create_task(self._run(), name="threadline-fanout")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        looked = polled = 0.0
        await self.look_elsewhere()  # the newest event id, before the first look
        while True:
            if time.monotonic() - looked >= self.look:
                looked = time.monotonic()
                await self.run_once(everything=True)
            # (asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
            # that meets its timeout, and shutdown then waits on this task for ever.)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.gather if self._pages else self.poll):
                    await self._wake.wait()
            if self._wake.is_set():
                await asyncio.sleep(self.gather)  # let a busy page's posts gather
            self._wake.clear()
            if time.monotonic() - polled >= self.poll:
                polled = time.monotonic()
                await self.look_elsewhere()
            await self.run_once()

    async def look_elsewhere(self) -> None:
        """Wake for the pages of events stored since the last look, by any process."""
        try:
            async with self.services.store.read() as tx:
                self._seen, pages = await tx.pages_posted_after(self._seen, POLLED)
        except Exception as exc:  # noqa: BLE001 -- log_failure logs it
            # Once per kind of failure, not every second (an outage, then a bug after it,
            # are each logged).
            if self._poll_failing != type(exc).__name__:
                log_failure(log, "looking for new events failed; retrying every second")
            self._poll_failing = type(exc).__name__
            return
        if self._poll_failing:
            log.info("looking for new events works again")
        self._poll_failing = None
        for page_id in pages:
            self._pages.setdefault(page_id, TRIES)

    async def run_once(self, *, everything: bool = False) -> int:
        """Fan out what was posted on the pages woken for (``everything``: on every page
        not read to the end); how many comments were read."""
        total = 0
        while everything or self._pages:
            # Taken now: a page woken while this batch runs stays for the next one (the
            # look for every page leaves the woken ones where they are).
            woken: dict[int, int] = {}
            if not everything:
                woken, self._pages = self._pages, {}
            try:
                done = await fan_out(self.services, None if everything else sorted(woken))
            except Exception:  # noqa: BLE001 -- log_failure logs it
                log_failure(log, "fan-out of published comments failed; retrying")
                self._put_back(woken, set(woken))
                await asyncio.sleep(FAILED_PAUSE)
                return total
            self.busy_seconds += done.seconds
            self.batches += 1
            total += done.comments
            self.comments += done.comments
            if everything:
                if done.comments < BATCH:
                    return total
                continue
            self._put_back(woken, done.later)
            if done.comments < BATCH:
                return total  # what is left is held elsewhere: the next round tries again
        return total

    def _put_back(self, woken: dict[int, int], later: set[int]) -> None:
        """Pages still to read go back, one try fewer (a wake since gives them all again)."""
        for page_id in later:
            left = woken.get(page_id, TRIES) - 1
            if left > 0 and page_id not in self._pages:
                self._pages[page_id] = left
