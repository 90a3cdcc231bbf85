"""One client floods a page with posts while others post and read normally.

The flooder must get 429s after its limit; everyone else must keep being served. Reports the
delivery latency other readers see, calm and under the flood."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from bench.wsclient import Reader, connect


@dataclass
class FloodOutcome:
    flood_statuses: Counter[int]
    retry_after: set[str]
    legit_statuses: Counter[int]
    calm_ms: list[float] = field(default_factory=list)
    flood_ms: list[float] = field(default_factory=list)
    delivered_all: bool = False
    flood_seconds: float = 0.0

    @staticmethod
    def summary(samples: list[float]) -> str:
        if not samples:
            return "no samples"
        ordered = sorted(samples)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        return (
            f"median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, "
            f"max {ordered[-1]:.1f} ms over {len(ordered)} deliveries"
        )


async def _legit(
    http: httpx.AsyncClient,
    url: str,
    site: str,
    page: str,
    count: int,
    gap: float,
    tag: str,
    readers: list[Reader],
    out: list[float],
    statuses: Counter[int],
) -> None:
    """Posts from distinct clients; measures post -> delivery to every reader."""
    for i in range(count):
        sent = time.monotonic_ns()
        r = await http.post(
            f"{url}/api/v1/sites/{site}/comments",
            json={"page": page, "body": f"{tag} {i}"},
            headers={"X-Forwarded-For": f"203.0.{i % 250}.{len(tag)}"},
        )
        statuses[r.status_code] += 1
        if r.status_code == 201:
            seq = r.json()["page"]["seq"]
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all(seq in rd.seqs for rd in readers):
                await asyncio.sleep(0.002)
            for rd in readers:
                if seq in rd.seqs:
                    out.append((rd.times[rd.seqs.index(seq)] - sent) / 1e6)
        await asyncio.sleep(gap)


async def run(
    url: str,
    port: int,
    site: str,
    *,
    origin: str,
    page: str = "flood",
    floods: int = 1000,
    seconds: float = 10.0,
    readers: int = 20,
    legit: int = 10,
) -> FloodOutcome:
    watchers = [await connect("127.0.0.1", port, site, page, origin=origin) for _ in range(readers)]
    outcome = FloodOutcome(Counter(), set(), Counter())
    gap = seconds / legit
    limits = httpx.Limits(max_connections=64)
    pending: set[asyncio.Task[None]] = set()
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        await _legit(
            http,
            url,
            site,
            page,
            legit // 2,
            0.2,
            "calm",
            watchers,
            outcome.calm_ms,
            outcome.legit_statuses,
        )

        async def flood() -> None:
            start = time.monotonic()
            for i in range(floods):
                # Open loop: the schedule does not wait for answers.
                delay = start + i * seconds / floods - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                task = asyncio.create_task(one(i))
                pending.add(task)  # held until done: a bare task may be collected mid-flight
                task.add_done_callback(pending.discard)
            outcome.flood_seconds = time.monotonic() - start

        async def one(i: int) -> None:
            r = await http.post(
                f"{url}/api/v1/sites/{site}/comments",
                json={"page": page, "body": f"flood {i}"},
                headers={"X-Forwarded-For": "198.51.100.66"},
            )
            outcome.flood_statuses[r.status_code] += 1
            if r.status_code == 429:
                outcome.retry_after.add(r.headers.get("retry-after", ""))

        await asyncio.gather(
            flood(),
            _legit(
                http,
                url,
                site,
                page,
                legit,
                gap,
                "busy",
                watchers,
                outcome.flood_ms,
                outcome.legit_statuses,
            ),
        )
        async with asyncio.timeout(30):
            while sum(outcome.flood_statuses.values()) < floods:
                await asyncio.sleep(0.05)
        final = (await http.get(f"{url}/api/v1/sites/{site}/thread", params={"page": page})).json()[
            "page"
        ]["seq"]
    async with asyncio.timeout(15):
        while not all(w.seqs and w.seqs[-1] >= final for w in watchers):
            await asyncio.sleep(0.05)
    outcome.delivered_all = all(w.seqs == list(range(1, final + 1)) for w in watchers)
    for w in watchers:
        assert w.transport is not None
        w.transport.close()
    return outcome
