"""Load with faults: writers post while Redis restarts and a server process is SIGKILLed.

Shared by the short form in ``make test`` and the long form in ``make bench``. It returns
what it observed; the caller decides what must hold: every accepted post in the database
exactly once, every reader ending with every event in order, no 5xx."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import httpx
from sqlalchemy import func, select

from bench.wsclient import connect
from server.store.database import SqlStore
from server.store.schema import comments, pages


class Server(Protocol):
    """What the scenario needs of a server process (tests' ServerProcess fits)."""

    port: int

    @property
    def url(self) -> str: ...
    def kill(self) -> None: ...
    def start(self) -> object: ...


class Redis(Protocol):
    def stop(self) -> None: ...
    def start(self) -> None: ...


@dataclass
class Follower:
    """A reader that resumes from its last seq on any live server after every drop."""

    servers: Sequence[Server]
    home: int
    site: str
    page: str
    origin: str
    seqs: list[int] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    drops: int = 0
    connects: int = 0

    async def run(self, stop: asyncio.Event) -> None:
        target, delay = self.home, 0.05
        while not stop.is_set():
            server = self.servers[target % len(self.servers)]
            try:
                reader = await connect(
                    "127.0.0.1",
                    server.port,
                    self.site,
                    self.page,
                    seq=self.seqs[-1] if self.seqs else 0,
                    origin=self.origin,
                    seqs=self.seqs,
                    times=self.times,
                )
            except (OSError, ConnectionError, TimeoutError):
                target += 1  # that server is down: try the next one
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)
                continue
            delay = 0.05
            self.connects += 1
            assert reader.closed is not None
            stopping = asyncio.ensure_future(stop.wait())
            either: list[asyncio.Future[Any]] = [reader.closed, stopping]
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if stop.is_set():
                assert reader.transport is not None
                reader.transport.close()
                return
            self.drops += 1
            target += 1


@dataclass
class Outcome:
    posted: int
    accepted: set[str]
    statuses: Counter[int]
    transport_errors: int
    retried: int
    final_seq: int
    rows: int
    duplicate_keys: int
    missing_keys: int
    followers: list[Follower]
    faults: list[tuple[float, str]]
    post_seconds: float
    converge_seconds: float

    @property
    def readers_complete(self) -> int:
        expected = list(range(1, self.final_seq + 1))
        return sum(1 for f in self.followers if f.seqs == expected)

    @property
    def five_hundreds(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


async def run(
    servers: Sequence[Server],
    redis: Redis,
    store: SqlStore,
    site: str,
    *,
    comments_total: int,
    readers: int,
    writers: int = 8,
    origin: str,
    page: str = "faults",
    redis_restarts: int = 2,
    kill: bool = True,
    log: Callable[[str], None] = print,
) -> Outcome:
    stop = asyncio.Event()
    followers = [Follower(servers, i % len(servers), site, page, origin) for i in range(readers)]
    tasks = [asyncio.create_task(f.run(stop)) for f in followers]
    await _wait(lambda: all(f.connects for f in followers), 60)  # subscribed before posting

    run_id = f"{int(time.time())}-{random.randrange(10**6)}"
    jobs: asyncio.Queue[int] = asyncio.Queue()
    for i in range(comments_total):
        jobs.put_nowait(i)
    accepted: set[str] = set()
    statuses: Counter[int] = Counter()
    errors = {"transport": 0, "retried": 0}
    faults: list[tuple[float, str]] = []
    started = time.monotonic()

    async def write(http: httpx.AsyncClient) -> None:
        while not jobs.empty():
            i = jobs.get_nowait()
            key = f"fault-{run_id}-{i:06}"
            for attempt in range(60):
                server = servers[(i + attempt) % len(servers)]
                try:
                    r = await http.post(
                        f"{server.url}/api/v1/sites/{site}/comments",
                        json={"page": page, "body": f"comment {i}"},
                        headers={"Idempotency-Key": key},
                    )
                except httpx.TransportError:
                    errors["transport"] += 1  # in flight on a killed process, or it is down
                    errors["retried"] += 1
                    await asyncio.sleep(0.05)
                    continue
                statuses[r.status_code] += 1
                if r.status_code in (200, 201):
                    accepted.add(key)
                    break
                errors["retried"] += 1
                await asyncio.sleep(0.05)

    async def chaos() -> None:
        plan: list[tuple[float, str]] = []
        for n in range(redis_restarts):  # spread out: 1/4 and 3/4 for two
            plan.append(((2 * n + 1) / (2 * redis_restarts), "redis"))
        if kill:
            plan.append((0.5 if redis_restarts != 1 else 0.6, "kill"))
        for fraction, what in sorted(plan):
            threshold = fraction * comments_total
            await _wait(partial(_reached, accepted, threshold), 120)
            at = time.monotonic() - started
            if what == "redis":
                log(f"[faults] {at:5.1f}s: Redis down")
                await asyncio.to_thread(redis.stop)
                await asyncio.sleep(1.0)
                await asyncio.to_thread(redis.start)
                faults.append((at, "redis restarted after 1 s"))
            else:
                log(f"[faults] {at:5.1f}s: SIGKILL server A")
                await asyncio.to_thread(servers[0].kill)
                await asyncio.sleep(0.5)
                await asyncio.to_thread(servers[0].start)
                faults.append((at, "server A killed (SIGKILL) and restarted"))

    limits = httpx.Limits(max_connections=writers * 2, max_keepalive_connections=writers * 2)
    async with httpx.AsyncClient(timeout=15, limits=limits) as http:
        await asyncio.gather(chaos(), *(write(http) for _ in range(writers)))
    post_seconds = time.monotonic() - started

    async with store.read() as tx:
        final_seq = (
            await tx.conn.execute(
                select(pages.c.seq).where(pages.c.site_id == site, pages.c.key == page)
            )
        ).scalar_one()
        keys: dict[str, int] = dict(
            (
                await tx.conn.execute(
                    select(comments.c.idempotency_key, func.count())
                    .where(comments.c.site_id == site)
                    .group_by(comments.c.idempotency_key)
                )
            ).all()
        )
    converge_start = time.monotonic()
    try:
        await _wait(lambda: all(f.seqs and f.seqs[-1] >= final_seq for f in followers), 90)
    except TimeoutError:
        log("[faults] readers did not all converge in 90 s")
    converge_seconds = time.monotonic() - converge_start
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return Outcome(
        posted=comments_total,
        accepted=accepted,
        statuses=statuses,
        transport_errors=errors["transport"],
        retried=errors["retried"],
        final_seq=final_seq,
        rows=sum(keys.values()),
        duplicate_keys=sum(1 for n in keys.values() if n > 1),
        missing_keys=len(accepted - set(keys)),
        followers=followers,
        faults=faults,
        post_seconds=post_seconds,
        converge_seconds=converge_seconds,
    )


def _reached(accepted: set[str], threshold: float) -> bool:
    return len(accepted) >= threshold


async def _wait(predicate: Callable[[], bool], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)
