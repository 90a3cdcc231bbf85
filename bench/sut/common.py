"""Shared by every system under test (stdlib only: peers run in their own virtualenv)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs


def payload(sched_ns: int, index: int, size: int) -> str:
    """A ~``size``-byte JSON event carrying its scheduled time and index for the generator."""
    head = f'{{"type":"bench","msg":"@t{sched_ns}@i{index}@","pad":"'
    return head + "x" * max(0, size - len(head) - 2) + '"}'


async def open_loop(
    rate: float, count: int, size: int, send: Callable[[str, int], Awaitable[object]]
) -> list[asyncio.Future[object]]:
    """Publish on a fixed schedule, each publish its own task: a slow publish (a database
    write) does not delay the next one, and a late one still carries its scheduled time.
    Returns the publishes' tasks (to wait for them all)."""
    start = time.monotonic_ns()
    interval = 1e9 / rate
    tasks = []
    for i in range(count):
        sched = start + int(i * interval)
        delay = (sched - time.monotonic_ns()) / 1e9
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(spawn(send(payload(sched, i, size), i)))
    return tasks


def start_params(query: str) -> tuple[float, int, str, int]:
    q = {k: v[0] for k, v in parse_qs(query).items()}
    return (
        float(q.get("rate", 10)),
        int(q.get("count", 100)),
        q.get("page", "p"),
        int(q.get("size", 200)),
    )


_tasks: set[asyncio.Future[object]] = set()


def spawn(coro: Awaitable[object]) -> asyncio.Future[object]:
    task = asyncio.ensure_future(coro)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return task
