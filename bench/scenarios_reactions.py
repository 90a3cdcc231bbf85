"""A reaction burst on one hot page (issue 17): what coalesced totals cost next to fan-out.

Readers sit on process B; readers' reactions arrive at process A (through core, as their
PUTs would, each from a reader and network of its own), half of them on one popular comment.
Measured on B: the ``reactions`` frames each reader got, B's CPU per reaction, and how soon
after the burst every reader held the exact final totals. The reference, in the same run on
the same readers: B's CPU per durable event (a comment), and the frames an uncoalesced design
would have sent (one per reaction)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import orjson

from bench.harness import ORIGIN, QUICK, Services
from bench.procs import trigger
from bench.suts import THREADLINE
from bench.wsclient import Reader, connect

PAGE = "hot"
TARGETS = 10
REACTIONS = b'{"type":"reactions"'


class Tally:
    """What one reader saw of the burst: reactions frames, their bytes, the latest totals."""

    def __init__(self) -> None:
        self.frames = 0
        self.bytes = 0
        self.totals: dict[str, dict[str, int]] = {}
        self.last_at = 0.0

    def seen(self, _reader: Reader, payload: bytes) -> None:
        if not payload.startswith(REACTIONS):
            return
        self.frames += 1
        self.bytes += len(payload)
        self.totals.update(orjson.loads(payload)["data"]["comments"])
        self.last_at = time.monotonic()


async def _all_have(readers: list[Reader], events: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(len(r.seqs) < events for r in readers):
        await asyncio.sleep(0.05)


async def reaction_burst(
    services: Services, *, readers_n: int = 0, count: int = 0, rate: float = 0.0
) -> dict[str, Any]:
    """The burst; sizes default to the full run's (or BENCH_QUICK's)."""
    full = (20, 200, 100.0) if QUICK else (200, 1000, 500.0)
    readers_n, count, rate = readers_n or full[0], count or full[1], rate or full[2]
    a, b = await THREADLINE.start(services)
    assert a is not None
    readers: list[Reader] = []
    tallies = [Tally() for _ in range(readers_n)]
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            # The page exists before its readers join (as a post would have made it).
            (await http.post(f"{b.url}/_bench/pages", json=[PAGE])).raise_for_status()
            for tally in tallies:
                readers.append(
                    await connect(
                        "127.0.0.1", b.port, "bench", PAGE, origin=ORIGIN, on_frame=tally.seen
                    )
                )
            # Reference: durable events (comments) to the same readers, B's CPU per event.
            events = 50 if QUICK else 100
            cpu0 = b.cpu_seconds()
            await trigger(a.url, rate=50, count=events, page=PAGE)
            await _all_have(readers, events, events / 50 + 10)
            event_cpu = (b.cpu_seconds() - cpu0) / events
            # The comments readers react to: the page's newest, so its first page lists them.
            r = await http.post(f"{a.url}/_bench/comments", params={"page": PAGE, "count": TARGETS})
            r.raise_for_status()
            ids = r.json()
            await _all_have(readers, events + TARGETS, 10)
            await asyncio.sleep(0.5)
            cpu0 = b.cpu_seconds()
            began = time.monotonic()
            r = await http.post(
                f"{a.url}/_bench/react",
                params={"rate": rate, "count": count, "comments": ",".join(map(str, ids))},
            )
            r.raise_for_status()
            ended = began + count / rate
            # Settled: every reader holds what the database (through B's listing) holds.
            truth: dict[str, dict[str, int]] = {}
            exact = False
            deadline = ended + 15
            await asyncio.sleep(count / rate)
            while time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                listing = (
                    await http.get(
                        f"{b.url}/api/v1/sites/bench/thread",
                        params={"page": PAGE},
                        headers={"Origin": ORIGIN},
                    )
                ).json()
                truth = {
                    str(c["id"]): c["reactions"] for c in listing["comments"] if c["id"] in ids
                }
                if sum(sum(t.values()) for t in truth.values()) != count:
                    continue  # reactions still being written
                exact = all(
                    all(t.totals.get(i, {}) == v for i, v in truth.items()) for t in tallies
                )
                if exact:
                    break
            burst_cpu = b.cpu_seconds() - cpu0
    finally:
        for reader in readers:
            if reader.transport is not None:
                reader.transport.close()
        for proc in (a, b):
            proc.terminate()
    frames = [t.frames for t in tallies]
    settled_ms = max(t.last_at for t in tallies) - ended
    return {
        "readers": readers_n,
        "reactions": count,
        "rate": rate,
        "exact_everywhere": exact,
        "frames_per_reader_max": max(frames),
        "frames_per_reader_mean": round(sum(frames) / len(frames), 1),
        "uncoalesced_frames_per_reader": count,
        "bytes_per_reader_mean": round(sum(t.bytes for t in tallies) / len(tallies)),
        "b_cpu_us_per_reaction": round(burst_cpu / count * 1e6, 1),
        "b_cpu_us_per_event": round(event_cpu * 1e6, 1),
        "settled_ms_after_burst": round(settled_ms * 1000),
        "final_totals": truth,
    }
