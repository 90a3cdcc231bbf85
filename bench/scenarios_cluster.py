"""Issue #20's cluster scenario: does fan-out through Redis grow with shards?

Three processes run Threadline's Redis broker, each subscribed to every one of many pages
and publishing event-sized messages round them as fast as its publisher takes them; every
message reaches all three. The same processes run once against one Redis and once against a
3-master, 3-replica Redis Cluster (sharded pub/sub). Figures: messages delivered per second,
the CPU each part used (the profile that says where the time goes), and how many messages
each shard carried. The broker is driven directly: with whole servers, each message would
first cost a database commit, and Redis would be further still from being the limit."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from bench.harness import QUICK, ROOT, Services
from tests.support.cluster import RedisClusterSet

PROCESSES = 3
PAGES = 60 if QUICK else 600
SECONDS = 2.0 if QUICK else 8.0


async def run_workers(
    url: str, redis_pids: list[int], *, pages: int, seconds: float
) -> dict[str, Any]:
    """The three broker processes against ``url``: what they delivered and what it cost."""
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.broker_worker",
            url,
            f"bench-{n}",
            str(pages),
            str(seconds),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        for n in range(PROCESSES)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            line = await asyncio.wait_for(worker.stdout.readline(), 60)
            if line.strip() != b"ready":
                raise RuntimeError(f"a broker worker did not start: {line!r}")
        redis = [psutil.Process(pid) for pid in redis_pids]
        redis_before = [sum(p.cpu_times()[:2]) for p in redis]
        began = time.monotonic()
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write(b"go\n")
            await worker.stdin.drain()
        counts = []
        for worker in workers:
            assert worker.stdout is not None
            line = await asyncio.wait_for(worker.stdout.readline(), seconds + 60)
            counts.append(json.loads(line))
        wall = time.monotonic() - began - 1.0  # (the workers' drain second is not load)
        redis_cpu = [sum(p.cpu_times()[:2]) - b for p, b in zip(redis, redis_before, strict=True)]
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
            await worker.wait()
    sent = sum(c["sent"] for c in counts)
    heard = sum(c["heard"] for c in counts)
    return {
        "sent": sent,
        "heard": heard,
        "delivery": round(heard / (sent * PROCESSES), 4) if sent else 0.0,
        "delivered_per_s": round(heard / seconds),
        "published_per_s": round(sent / seconds),
        # Shares of one core over the run: the profile of where the machine's time went.
        "worker_cores": [round(c["cpu"] / wall, 2) for c in counts],
        "redis_cores": [round(cpu / wall, 2) for cpu in redis_cpu],
    }


async def cluster_bench(
    services: Services, *, pages: int = PAGES, seconds: float = SECONDS
) -> dict[str, Any]:
    assert services.redis.proc is not None
    single = await run_workers(
        services.redis.url, [services.redis.proc.pid], pages=pages, seconds=seconds
    )
    cluster = RedisClusterSet(Path(services.work) / f"cluster-{time.monotonic_ns()}")
    await asyncio.to_thread(cluster.start)
    try:
        await asyncio.to_thread(cluster.reset_stats)
        pids = [proc.pid for proc in cluster.procs.values()]
        sharded = await run_workers(cluster.url, pids, pages=pages, seconds=seconds)
        masters = await asyncio.to_thread(cluster.masters)
        per_shard = {}
        for port in masters:
            calls = await asyncio.to_thread(cluster.command_calls, port)
            per_shard[str(port)] = {
                "spublish": calls.get("spublish", 0),
                "publish": calls.get("publish", 0),
            }
        ports = list(cluster.procs)
        sharded["node_cores"] = dict(zip(map(str, ports), sharded.pop("redis_cores"), strict=True))
    finally:
        await asyncio.to_thread(cluster.stop)
    cores = psutil.cpu_count() or 1
    ratio = (
        sharded["delivered_per_s"] / single["delivered_per_s"] if single["delivered_per_s"] else 0
    )
    busiest_redis = max(single["redis_cores"])
    result = {
        "cores": cores,
        "processes": PROCESSES,
        "pages": pages,
        "seconds": seconds,
        "single": single,
        "cluster": sharded,
        "per_shard": per_shard,
        "ratio": round(ratio, 3),
        # Redis is the bottleneck only if the one server used about a core of its own.
        "single_redis_bound": busiest_redis >= 0.85,
        "ok": single["delivery"] >= 0.99
        and sharded["delivery"] >= 0.99
        and all(s["publish"] == 0 for s in per_shard.values())
        and all(s["spublish"] > 0 for s in per_shard.values()),
    }
    print(
        f"[cluster] one Redis {single['delivered_per_s']}/s (Redis {single['redis_cores']} "
        f"of a core, brokers {single['worker_cores']}); 3 shards "
        f"{sharded['delivered_per_s']}/s (x{result['ratio']}, brokers "
        f"{sharded['worker_cores']}); per shard {per_shard}",
        flush=True,
    )
    return result
