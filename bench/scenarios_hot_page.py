"""A hot page (issue 19): posting as a breaking story gets it, on both stores, beside Isso.

Three shapes, 50 connections each, unique bodies, the server on one core:

- ``one page, one address``: every post to one page from one client address;
- ``one page, 1,000 addresses``: the same through a trusted proxy header naming 1,000
  client addresses in turn (each network's duplicate check and limits are its own);
- ``20 pages``: the same load spread over 20 pages.

For each: posts/s, p50/p99, and the CPU each post costs the server process and, on
PostgreSQL, the database's backends (every process of the bench's private cluster). A run
is a first, a middle and a last window on the same page, so a cost that grows as the page
fills shows as the last window's CPU per post against the first's."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import psutil

from bench.harness import QUICK, Services
from bench.procs import Proc, threadline_serve
from bench.scenarios_http import wrk

PATH = "/api/v1/sites/bench/comments"
# (first, middle, last) window lengths in seconds: the first and last are 10 % of the run.
WINDOWS = (1, 1, 1) if QUICK else (2, 16, 2)
TARGET_RATE = 1000.0  # posts/s on one hot page, at p99 <= TARGET_P99_MS
TARGET_P99_MS = 100.0
TARGET_DB_US = 1000.0  # PostgreSQL CPU per post
TARGET_VS_ISSO = 5.0

POST_LUA = """
local counter = 0
local tag = "%(tag)s"
local addresses = %(addresses)d
local pages = %(pages)d
request = function()
  counter = counter + 1
  local headers = {["Content-Type"] = "application/json"}
  if addresses > 1 then
    local n = counter %% addresses
    headers["X-Forwarded-For"] = string.format("10.%%d.%%d.7", math.floor(n / 250), n %% 250)
  end
  local page = "hot"
  if pages > 1 then page = string.format("hot-%%d", counter %% pages) end
  local body = string.format('{"page":"%%s","body":"breaking %%s-%%d: what I think of it"}',
    page, tag, counter)
  return wrk.format("POST", "%(path)s", headers, body)
end
"""

SHAPES = {
    "one page, one address": {"addresses": 1, "pages": 1},
    "one page, 1,000 addresses": {"addresses": 1000, "pages": 1},
    "20 pages": {"addresses": 1, "pages": 20},
}


def cluster_cpu(services: Services) -> float:
    """CPU seconds of the bench's own PostgreSQL cluster: its postmaster and every child."""
    pid_file = Path(services.pg.base) / "data" / "postmaster.pid"
    try:
        postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
        processes = [postmaster, *postmaster.children()]
    except (OSError, ValueError, psutil.Error):
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue  # a backend that ended meanwhile
        total += times.user + times.system
    return total


def posting_window(server: Proc, services: Services, script: str, seconds: int) -> dict[str, Any]:
    """wrk posting for ``seconds``, with the CPU the server and the PostgreSQL cluster spent
    per accepted post meanwhile."""
    server_before, db_before = server.cpu_seconds(), cluster_cpu(services)
    figures = wrk(f"{server.url}{PATH}", script=script, seconds=seconds)
    posts = (figures["requests_per_s"] or 0.0) * seconds
    server_after, db_after = server.cpu_seconds(), cluster_cpu(services)
    return {
        **figures,
        "posts": round(posts),
        "server_us_per_post": round((server_after - server_before) / posts * 1e6)
        if posts
        else None,
        "db_us_per_post": round((db_after - db_before) / posts * 1e6) if posts else None,
    }


async def hot_page(
    services: Services,
    backend: str,
    shape: dict[str, int],
    windows: tuple[int, ...] = WINDOWS,
    **settings: str,
) -> dict[str, Any]:
    """One shape on one store: a first, middle and last window of posting (``settings``:
    more of the server's environment)."""
    db = await services.database(backend)
    store = await services.site(db, "bench")
    await store.close()
    env = {**services.server(db, redis=False).env, **settings}
    server = threadline_serve(env, services.work / f"hot-page-{backend}.log").start()
    try:
        measured = [
            # Each window its own tag: Lua's unseeded random would repeat the last one's
            # bodies, and a repeat from the same network is a duplicate (409).
            await asyncio.to_thread(
                posting_window,
                server,
                services,
                POST_LUA % {**shape, "path": PATH, "tag": n},
                seconds,
            )
            for n, seconds in enumerate(windows)
        ]
    finally:
        server.terminate()
    total = sum(w["posts"] for w in measured)
    seconds = sum(windows)
    first, middle, last = measured[0], measured[len(measured) // 2], measured[-1]
    growth = (
        round(last["server_us_per_post"] / first["server_us_per_post"], 3)
        if first["server_us_per_post"] and last["server_us_per_post"]
        else None
    )
    return {
        "posts_per_s": round(total / seconds, 1),
        "p50_ms": middle["p50_ms"],
        "p99_ms": middle["p99_ms"],
        "server_us_per_post": middle["server_us_per_post"],
        "db_us_per_post": middle["db_us_per_post"] if backend == "postgresql" else None,
        "last_vs_first_cpu_per_post": growth,
        "non_2xx": sum(w["non_2xx"] for w in measured),
        "windows": measured,
    }


async def hot_page_bench(services: Services) -> dict[str, Any]:
    """Every shape on both stores, then Isso posting to one page in the same run."""
    from bench.scenarios_http import isso

    runs: dict[str, Any] = {}
    for backend in ("sqlite", "postgresql"):
        for name, shape in SHAPES.items():
            runs[f"{backend}: {name}"] = await hot_page(services, backend, shape)
    reference = (await isso(services))["posting"]
    isso_rate = reference["requests_per_s"] or 0.0
    targets = {}
    for backend in ("sqlite", "postgresql"):
        hot = runs[f"{backend}: one page, one address"]
        targets[backend] = {
            "posts_per_s": hot["posts_per_s"],
            "rate_met": hot["posts_per_s"] >= TARGET_RATE,
            "p99_met": (hot["p99_ms"] or 1e9) <= TARGET_P99_MS,
            "vs_isso": round(hot["posts_per_s"] / isso_rate, 2) if isso_rate else None,
            "vs_isso_met": bool(isso_rate) and hot["posts_per_s"] >= TARGET_VS_ISSO * isso_rate,
            "db_met": None
            if hot["db_us_per_post"] is None
            else hot["db_us_per_post"] <= TARGET_DB_US,
        }
    return {"runs": runs, "isso_posting": reference, "targets": targets}
