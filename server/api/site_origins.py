"""Pure-ASGI middleware for the API: the per-site origin allowlist, with CORS."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.core.errors import Forbidden
from server.core.origins import origin_allowed
from server.core.sites import SiteDirectory
from server.http.responses import domain_error

SITE_PREFIX = "/api/v1/sites/"
ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE"
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
            refusal = Forbidden(
                "origin_not_allowed", f"{origin[:100]} is not an allowed origin of site {site.id!r}"
            )
            response = domain_error(refusal, {"Vary": "Origin"})
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
