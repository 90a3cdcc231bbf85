"""Benchmarks for issue 6: load with faults, and a flood from one IP."""

from __future__ import annotations

from typing import Any

from bench import faults, flood
from bench.harness import ORIGIN, QUICK, Services


async def load_and_faults(services: Services) -> dict[str, Any]:
    readers, total = (30, 300) if QUICK else (200, 3000)
    db = await services.database("postgresql")
    store = await services.site(db, "faults")
    a = services.server(db).start()
    b = services.server(db).start()
    # Redis restarted at 1/4 and 3/4, server A SIGKILLed at 1/2, PostgreSQL restarted at 0.9
    # (faults strike one after another: well after the others have ended; and only a
    # cluster of the bench's own, never one it was lent).
    plan = faults.redis_and_kill([a, b], services.redis)
    if services.owned:
        plan.append(faults.postgres_restart(services.pg, 0.9))
    try:
        outcome = await faults.run(
            [a, b],
            services.redis,
            store,
            "faults",
            comments_total=total,
            readers=readers,
            writers=8,
            origin=ORIGIN,
            faults=plan,
        )
    finally:
        a.kill()
        b.terminate()
        await store.close()
    return {
        "comments": total,
        "readers": readers,
        "accepted": len(outcome.accepted),
        "rows": outcome.rows,
        "duplicates": outcome.duplicate_keys,
        "missing": outcome.missing_keys,
        "http_5xx": outcome.server_errors,  # 503s apart
        "http_503": outcome.unavailable,
        "http_503_without_retry_after": outcome.unavailable_without_retry_after,
        "writes_refused_seconds": round(outcome.refused_seconds, 2),
        "longest_write_stall_seconds": round(outcome.longest_stall, 2),
        "transport_errors_retried": outcome.transport_errors,
        "readers_complete": outcome.readers_complete,
        "reader_drops": sum(f.drops for f in outcome.followers),
        "faults": [what for _, what in outcome.faults],
        "post_seconds": round(outcome.post_seconds, 1),
        "posts_per_second": round(total / outcome.post_seconds, 1),
        "converge_seconds": round(outcome.converge_seconds, 2),
        "ok": (
            len(outcome.accepted) == total
            and outcome.rows == total
            and outcome.duplicate_keys == 0
            and outcome.server_errors == 0
            and outcome.unavailable_without_retry_after == 0
            and outcome.readers_complete == readers
        ),
    }


async def flood_one_ip(services: Services) -> dict[str, Any]:
    db = await services.database("postgresql")
    store = await services.site(db, "flood")
    server = services.server(
        db,
        THREADLINE_RATE_LIMIT="10",
        THREADLINE_PAGE_RATE_LIMIT="600",
        THREADLINE_TRUSTED_PROXIES="127.0.0.1",
    ).start()
    try:
        outcome = await flood.run(
            server.url,
            server.port,
            "flood",
            origin=ORIGIN,
            floods=300 if QUICK else 1000,
            seconds=3 if QUICK else 10,
            readers=50,
            legit=20,
        )
    finally:
        server.terminate()
        await store.close()

    def stats(samples: list[float]) -> dict[str, float]:
        ordered = sorted(samples) or [0.0]
        return {
            "median_ms": round(ordered[len(ordered) // 2], 1),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 1),
            "max_ms": round(ordered[-1], 1),
            "samples": len(samples),
        }

    return {
        "flood_statuses": dict(outcome.flood_statuses),
        "others_refused": sum(n for s, n in outcome.legit_statuses.items() if s != 201),
        "delivered_all": outcome.delivered_all,
        "calm": stats(outcome.calm_ms),
        "under_flood": stats(outcome.flood_ms),
        "ok": outcome.flood_statuses.get(201) == 10 and outcome.delivered_all,
    }
