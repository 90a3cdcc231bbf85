"""Pure-ASGI middleware for the API: per-site origin allowlist with CORS, body size limit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from server.api.responses import error
from server.core.origins import origin_allowed
from server.core.sites import SiteDirectory
from server.live.connection import RAW_SEND

SocketHandler = Callable[[WebSocket], Awaitable[None]]
SITE_PREFIX = "/api/v1/sites/"
MAX_BODY = 64 * 1024
ALLOW_METHODS = "GET, POST, PATCH, DELETE"
ALLOW_HEADERS = "Content-Type, Authorization, Idempotency-Key"


class SiteOrigins:
    """Requests naming a site must come from one of its origins (or carry no Origin, as
    non-browser clients do). CORS headers go to allowed origins only, always with Vary; a
    page elsewhere may only read why its plain GET was refused (its origin is not allowed,
    or no such site), so the widget can say so and log the fix for the site's owner."""

    def __init__(self, app: ASGIApp, sites: SiteDirectory) -> None:
        self.app = app
        self.sites = sites

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(SITE_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        site_id = path[len(SITE_PREFIX) :].split("/", 1)[0]
        if origin is None:
            await self.app(scope, receive, send)
            return
        site = await self.sites.find(site_id)
        cors = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
        # Only the refusal of a read is shared: it tells the page what curl would. A write
        # from elsewhere is preflighted, and the preflight is refused without any CORS.
        readable = scope["method"] in ("GET", "HEAD")
        if site is None:  # the handler answers unknown sites
            await self.app(scope, receive, _with(send, cors if readable else []))
            return
        if not origin_allowed(origin, site.origins):
            response = error(
                403,
                "origin_not_allowed",
                f"{origin[:100]} is not an allowed origin of site {site.id!r}",
                {"Vary": "Origin"},
            )
            await response(scope, receive, _with(send, cors[:1] if readable else []))
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            preflight = Response(
                status_code=204,
                headers={
                    "Access-Control-Allow-Origin": origin,
                    "Vary": "Origin",
                    "Access-Control-Allow-Methods": ALLOW_METHODS,
                    "Access-Control-Allow-Headers": ALLOW_HEADERS,
                    "Access-Control-Max-Age": "600",
                },
            )
            await preflight(scope, receive, send)
            return
        cors.append((b"access-control-expose-headers", b"Retry-After"))
        await self.app(scope, receive, _with(send, cors))


def _with(send: Send, headers: list[tuple[bytes, bytes]]) -> Send:
    """``send`` adding ``headers`` to the response's start."""
    if not headers:
        return send

    async def send_with(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *headers]
        await send(message)

    return send_with


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with a JSON 413, before they are read."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_big = error(
            413, "payload_too_large", f"request bodies are limited to {self.limit} bytes"
        )
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await too_big(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await too_big(scope, receive, send)


class _TooLarge(Exception):
    pass


class Sockets:
    """Outermost: websockets go straight to their handler. Every layer a socket passes
    through stays suspended on its stack for the socket's whole life (the middlewares here
    only act on HTTP anyway): ~10 KiB per idle reader, measured. The server's own ``send``
    is kept so the live layer can write shared frames straight to its transport."""

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
