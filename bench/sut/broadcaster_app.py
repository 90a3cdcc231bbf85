"""encode/broadcaster on Starlette: one subscription per page per process (its design)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

from broadcaster import Broadcast
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from bench.sut.common import open_loop, spawn, start_params

broadcast = Broadcast(os.environ["BENCH_REDIS_URL"])


# broadcaster 0.3.1 loses readers when several subscribe to a new channel at once: each sees
# no subscriber set yet and the last one overwrites the others' queues (10% of 1,000 readers
# got nothing in our runs). Entering subscribe() one at a time is the benchmark's workaround.
subscribing = asyncio.Lock()


async def readers(ws: WebSocket) -> None:
    page = ws.query_params.get("page", "p")
    await ws.accept()
    async with subscribing:
        joined = broadcast.subscribe(channel=page)
        subscriber = await joined.__aenter__()
    try:
        # broadcaster 0.3.1 + redis-py 8: its listener may wake before SUBSCRIBE is sent, find
        # nothing subscribed, and park forever. Ringing its bell again after subscribing is
        # the benchmark's other workaround; without it nothing is ever delivered.
        ready = getattr(broadcast._backend, "_ready", None)
        if ready is not None:
            ready.set()
        await ws.send_text("ready")
        async for event in subscriber:  # type: ignore[union-attr]
            await ws.send_text(event.message)
    finally:
        await joined.__aexit__(None, None, None)


async def start(request: Request) -> PlainTextResponse:
    rate, count, page, size = start_params(request.url.query)

    async def send(text: str, _i: int) -> None:
        await broadcast.publish(channel=page, message=text)

    spawn(open_loop(rate, count, size, send))
    return PlainTextResponse("started", status_code=202)


@contextlib.asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    await broadcast.connect()
    yield
    await broadcast.disconnect()


app = Starlette(
    routes=[WebSocketRoute("/ws", readers), Route("/_bench/start", start, methods=["POST"])],
    lifespan=lifespan,
)
