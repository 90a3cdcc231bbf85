"""An open-loop poster of real comments over HTTP (issue 19, the full path): ``count``
comments at ``rate`` a second to ``url``'s public comments API, each carrying its scheduled
time and index as the generator's readers expect (``bench.sut.common.payload``), so the
latency they measure runs from the moment a reader's browser would have sent the POST to the
frame on every other reader's socket: HTTP parsing, validation, the database commit, the
publish, Redis and the other process's fan-out.

Run as ``python -m bench.poster '<json config>'``; prints one JSON line (answers by status,
CPU seconds) when every POST has been answered."""

from __future__ import annotations

import asyncio
import json
import resource
import sys
from collections import Counter
from typing import Any

import httpx

from bench.sut.common import open_loop

SITE = "bench"


async def post_all(config: dict[str, Any]) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=int(config.get("connections", 50)))
    async with httpx.AsyncClient(
        base_url=config["url"],
        timeout=30,
        limits=limits,
        headers={"Origin": config["origin"], "Content-Type": "application/json"},
    ) as http:

        async def post(body: str, index: int) -> None:
            data = json.dumps({"page": config["page"], "body": body, "name": f"Reader {index}"})
            try:
                answer = await http.post(f"/api/v1/sites/{SITE}/comments", content=data)
                statuses[str(answer.status_code)] += 1
            except httpx.HTTPError as error:
                statuses[type(error).__name__] += 1

        rate, count, size = float(config["rate"]), int(config["count"]), int(config["size"])
        await asyncio.gather(*await open_loop(rate, count, size, post))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"statuses": dict(statuses), "cpu_s": round(usage.ru_utime + usage.ru_stime, 3)}


def main() -> None:
    config = json.loads(sys.argv[1])
    print(json.dumps(asyncio.run(post_all(config))), flush=True)


if __name__ == "__main__":
    main()
