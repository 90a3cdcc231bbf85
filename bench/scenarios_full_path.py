"""The full path (issue 19): comments POSTed over HTTP to process A, delivered to 1,000
readers on process B, beside bare `websockets` via Redis in the same run.

The fan-out scenarios post through core inside process A (``/_bench/start``): validation,
the commit and the publish, but not the HTTP request a reader's browser makes. Here a
separate poster (``bench.poster``, on the rig's core with A, Redis and PostgreSQL) sends real
``POST /api/v1/sites/bench/comments`` requests on an open-loop schedule, and each reader's
latency runs from the POST's scheduled time. Reported: p99 at 10 posts/s (the median of
three rounds), and the highest rate whose p99 stays within 100 ms with every frame
delivered; bare's figures are measured the same way in the same run."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from bench.harness import ORIGIN, QUICK, Services
from bench.procs import Generator, Proc, pinned
from bench.scenarios_fanout import (
    RIG_CPU,
    figures,
    median_round,
    redis_cpu,
    rig_busy,
    run_rate,
    with_readers,
)
from bench.suts import BARE, THREADLINE

READERS = 1000
RATES = (10, 25, 35, 45, 55, 65, 75, 100)
PAGE = "p"


async def post_over_http(url: str, *, rate: float, count: int, page: str) -> dict[str, Any]:
    """Run the poster to the end: ``count`` comments at ``rate`` a second."""
    config = {"url": url, "rate": rate, "count": count, "page": page, "size": 200}
    process = await asyncio.create_subprocess_exec(
        *pinned(
            RIG_CPU, [sys.executable, "-m", "bench.poster", json.dumps(config | {"origin": ORIGIN})]
        ),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the poster failed ({process.returncode})")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def http_rate(
    gen: Generator, a: Proc | None, b: Proc, services: Services, *, rate: float, count: int
) -> dict[str, Any]:
    """One measured burst of POSTs to A; like ``run_rate``, whose publish is in-process."""
    assert a is not None
    seconds = count / rate
    b0, r0, a0 = b.cpu_seconds(), redis_cpu(services), a.cpu_seconds()
    busy0, total0 = rig_busy()
    await gen.begin(seconds + 4, count)
    posted, measured = await asyncio.gather(
        post_over_http(a.url, rate=rate, count=count, page=PAGE), gen.results()
    )
    busy1, total1 = rig_busy()
    point = figures(
        measured,
        b.cpu_seconds() - b0,
        seconds,
        redis_cpu(services) - r0,
        a.cpu_seconds() - a0,
        (busy1 - busy0) / max(total1 - total0, 1e-9),
    )
    point["answers"] = posted["statuses"]
    point["a_cpu_us_per_post"] = round((a.cpu_seconds() - a0) / count * 1e6)
    if set(posted["statuses"]) != {"201"}:
        point["delivery"] = 0.0  # a refused or failed POST is a miss, whatever arrived
    return point


def _within(point: dict[str, Any]) -> bool:
    return bool(point["p99_ms"] <= 100 and point["delivery"] >= 0.999)


async def full_path(
    services: Services,
    *,
    readers: int = 100 if QUICK else READERS,
    count: int = 10 if QUICK else 30,
    rounds: int = 1 if QUICK else 3,
    rates: tuple[float, ...] = (10,) if QUICK else RATES,
) -> dict[str, Any]:
    """Threadline over HTTP and bare via Redis: p99 at 10/s and the highest rate at p99
    <= 100 ms, both at 1,000 readers on another process."""
    out: dict[str, Any] = {"readers": readers}
    for name, sut in (("threadline_http", THREADLINE), ("bare", BARE)):

        async def body(
            gen: Generator, a: Proc | None, b: Proc, http: bool = sut is THREADLINE
        ) -> Any:
            latency = await median_round(
                gen,
                a,
                b,
                services,
                rate=10,
                count=count,
                rounds=rounds,
                measure=http_rate if http else None,
            )
            points = []
            for rate in rates:
                burst = max(10, int(rate * (2 if QUICK else 3)))
                point = (
                    await http_rate(gen, a, b, services, rate=rate, count=burst)
                    if http
                    else await run_rate(gen, a, b, services, rate=rate, count=burst)
                )
                points.append({"rate": rate, **point})
                if not _within(point):
                    break
            good = [p["rate"] for p in points if _within(p)]
            return {"latency": latency, "points": points, "max_rate": max(good) if good else None}

        out[name] = await with_readers(services, sut, [PAGE] * readers, body)
    mine, bare = out["threadline_http"], out["bare"]
    if "latency" in mine and "latency" in bare:
        out["p99_ratio"] = round(
            mine["latency"]["p99_ms"] / max(bare["latency"]["p99_ms"], 1e-9), 2
        )
        if mine["max_rate"] and bare["max_rate"]:
            out["max_rate_ratio"] = round(mine["max_rate"] / bare["max_rate"], 2)
        else:
            out["max_rate_ratio"] = 0.0 if bare["max_rate"] else None
    return out
