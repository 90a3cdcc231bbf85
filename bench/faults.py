"""Load with faults: writers post while the caller's faults strike (Redis restarts, a
server process SIGKILLed, PostgreSQL restarted).

Shared by the short forms in ``make test`` and the long form in ``make bench``. It returns
what it observed; the caller decides what must hold: every accepted post in the database
exactly once, every reader ending with every event in order, no 5xx but the 503s (each with
``Retry-After``) a database outage may answer."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import httpx
from sqlalchemy import func, select

from bench.wsclient import connect
from server.store.database import SqlStore
from server.store.schema import comments, pages

RETRY_SECONDS = 60.0  # a writer tries one post this long (every 50 ms, server after server)


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


class Database(Protocol):
    """A database server that can be restarted in place (tests' PostgresCluster fits)."""

    def restart(self, *, down: float = ..., mode: str = ...) -> None: ...


@dataclass(frozen=True)
class Fault:
    """Strikes once ``at`` (a fraction of the posts) are accepted: ``action`` is awaited if
    it is a coroutine function, else run in a thread; ``name`` says what happened."""

    at: float
    name: str
    action: Callable[[], Awaitable[None]] | Callable[[], None]

    async def strike(self) -> None:
        if inspect.iscoroutinefunction(self.action):
            await self.action()
        else:
            await asyncio.to_thread(self.action)


def redis_restart(redis: Redis, at: float, *, down: float = 1.0) -> Fault:
    """Redis stopped (SIGKILL) and started again ``down`` seconds later."""

    async def action() -> None:
        await asyncio.to_thread(redis.stop)
        await asyncio.sleep(down)
        await asyncio.to_thread(redis.start)

    return Fault(at, f"redis restarted after {down:g} s", action)


def server_kill(server: Server, at: float, *, down: float = 0.5, label: str = "A") -> Fault:
    """A server process SIGKILLed and started again ``down`` seconds later."""

    async def action() -> None:
        await asyncio.to_thread(server.kill)
        await asyncio.sleep(down)
        await asyncio.to_thread(server.start)

    return Fault(at, f"server {label} killed (SIGKILL) and restarted", action)


def postgres_restart(
    database: Database, at: float, *, down: float = 1.0, mode: str = "fast"
) -> Fault:
    """PostgreSQL stopped (``pg_ctl stop -m MODE``: every connection dropped) and started
    again on the same port ``down`` seconds later."""
    return Fault(
        at,
        f"postgresql restarted ({mode} stop, down {down:g} s)",
        partial(database.restart, down=down, mode=mode),
    )


def redis_and_kill(
    servers: Sequence[Server], redis: Redis, *, redis_restarts: int = 2, kill: bool = True
) -> list[Fault]:
    """The classic plan: Redis restarts spread out (1/4 and 3/4 for two) and server A
    SIGKILLed half-way (at 0.6 beside a single restart at 0.5)."""
    plan = [server_kill(servers[0], 0.5 if redis_restarts != 1 else 0.6)] if kill else []
    for n in range(redis_restarts):  # after the kill when both strike at once
        plan.append(redis_restart(redis, (2 * n + 1) / (2 * redis_restarts)))
    return plan


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


@dataclass(frozen=True)
class Refusal:
    """One 503: when (seconds into the run), and the ``Retry-After`` it carried, if any."""

    at: float
    retry_after: str | None


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
    refusals: list[Refusal] = field(default_factory=list)
    accepted_at: list[float] = field(default_factory=list)  # seconds into the run, in order

    @property
    def readers_complete(self) -> int:
        expected = list(range(1, self.final_seq + 1))
        return sum(1 for f in self.followers if f.seqs == expected)

    @property
    def five_hundreds(self) -> int:
        """Every 5xx, 503s included."""
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def server_errors(self) -> int:
        """5xx other than 503: never acceptable, whatever the fault."""
        return self.five_hundreds - self.unavailable

    @property
    def unavailable(self) -> int:
        """503s: the server saying a dependency is down and when to try again."""
        return self.statuses[503]

    @property
    def unavailable_without_retry_after(self) -> int:
        return sum(1 for r in self.refusals if r.retry_after is None)

    @property
    def refused_seconds(self) -> float:
        """From the first 503 to the last (0 without any)."""
        return self.refusals[-1].at - self.refusals[0].at if self.refusals else 0.0

    @property
    def longest_stall(self) -> float:
        """The longest time between two accepted posts (or from the start to the first)."""
        times = [0.0, *self.accepted_at]
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


async def run(
    servers: Sequence[Server],
    redis: Redis | None,
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
    faults: Sequence[Fault] | None = None,
    log: Callable[[str], None] = print,
) -> Outcome:
    """``faults`` strike in the order of their ``at``; without them, the classic plan
    (``redis_and_kill``) from ``redis``, ``redis_restarts`` and ``kill``."""
    if faults is None:
        assert redis is not None, "the classic plan restarts Redis: pass it, or faults"
        faults = redis_and_kill(servers, redis, redis_restarts=redis_restarts, kill=kill)
    plan = sorted(faults, key=lambda fault: fault.at)
    stop = asyncio.Event()
    followers = [Follower(servers, i % len(servers), site, page, origin) for i in range(readers)]
    tasks = [asyncio.create_task(f.run(stop)) for f in followers]
    await _wait(lambda: all(f.connects for f in followers), 60)  # subscribed before posting

    run_id = f"{int(time.time())}-{random.randrange(10**6)}"
    jobs: asyncio.Queue[int] = asyncio.Queue()
    for i in range(comments_total):
        jobs.put_nowait(i)
    accepted: set[str] = set()
    accepted_at: list[float] = []
    statuses: Counter[int] = Counter()
    refusals: list[Refusal] = []
    errors = {"transport": 0, "retried": 0}
    struck: list[tuple[float, str]] = []
    started = time.monotonic()

    async def write(http: httpx.AsyncClient) -> None:
        while not jobs.empty():
            i = jobs.get_nowait()
            key = f"fault-{run_id}-{i:06}"
            give_up = time.monotonic() + RETRY_SECONDS
            for attempt in itertools.count():
                if time.monotonic() > give_up:
                    break
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
                    accepted_at.append(time.monotonic() - started)
                    break
                if r.status_code == 503:
                    refusals.append(
                        Refusal(time.monotonic() - started, r.headers.get("retry-after"))
                    )
                errors["retried"] += 1
                await asyncio.sleep(0.05)

    async def chaos() -> None:
        for fault in plan:
            await _wait(partial(_reached, accepted, fault.at * comments_total), 120)
            at = time.monotonic() - started
            log(f"[faults] {at:5.1f}s: {fault.name}")
            await fault.strike()
            struck.append((at, fault.name))

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
        faults=struck,
        post_seconds=post_seconds,
        converge_seconds=converge_seconds,
        refusals=refusals,
        accepted_at=accepted_at,
    )


def _reached(accepted: set[str], threshold: float) -> bool:
    return len(accepted) >= threshold


async def _wait(predicate: Callable[[], bool], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)
