"""python-socketio with AsyncRedisManager: rooms per page, emits through Redis."""

from __future__ import annotations

import os
from urllib.parse import parse_qs

import socketio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bench.sut.common import open_loop, spawn, start_params

manager = socketio.AsyncRedisManager(os.environ["BENCH_REDIS_URL"])
sio = socketio.AsyncServer(
    async_mode="asgi", client_manager=manager, cors_allowed_origins="*", transports=["websocket"]
)


@sio.event
async def connect(sid: str, environ: dict[str, str]) -> None:
    page = parse_qs(environ.get("QUERY_STRING", "")).get("page", ["p"])[0]
    await sio.enter_room(sid, page)
    await sio.emit("ready", to=sid)


async def start(request: Request) -> PlainTextResponse:
    rate, count, page, size = start_params(request.url.query)

    async def send(text: str, _i: int) -> None:
        await sio.emit("ev", text, room=page)

    spawn(open_loop(rate, count, size, send))
    return PlainTextResponse("started", status_code=202)


app = socketio.ASGIApp(
    sio, other_asgi_app=Starlette(routes=[Route("/_bench/start", start, methods=["POST"])])
)
