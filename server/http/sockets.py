"""The websocket dispatch middleware: each websocket path straight to its handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

SocketHandler = Callable[[WebSocket], Awaitable[None]]
# Where the server's own ``send`` is kept in a websocket's scope, for the live layer.
RAW_SEND = "threadline.raw_send"


class Sockets:
    """Outermost: websockets go straight to their handler. Every layer a socket passes
    through stays suspended on its stack for the socket's whole life (the app's other
    middlewares only act on HTTP anyway): ~10 KiB per idle reader, measured. The server's own
    ``send`` is kept so the live layer can write shared frames straight to its transport."""

    def __init__(self, app: ASGIApp, routes: dict[str, SocketHandler]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            handler = self.routes.get(scope["path"])
            if handler is not None:
                scope[RAW_SEND] = send
                await handler(WebSocket(scope, receive, send))
                return
        await self.app(scope, receive, send)
