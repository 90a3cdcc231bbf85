"""Security headers: strict CSP and no framing for our pages, nosniff everywhere."""

from __future__ import annotations

import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_HOST = re.compile(r"[A-Za-z0-9.\-]{1,253}(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]{2,45}\](:[0-9]{1,5})?")
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
# The demo page is a host page like any other, served with the strict policy README gives
# host pages (Threadline is 'self' here): no inline script or style, no 'unsafe-inline'.
DEMO_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.production = production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        page = path == "/" or path.startswith(("/moderate", "/mail/"))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
                if self.production:
                    headers.setdefault(
                        "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
                    )
                if page:
                    host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1")
                    # Echoed into a header: hostname characters only, nothing to inject.
                    ok = host and _HOST.fullmatch(host)
                    ws = f" ws://{host} wss://{host}" if ok else ""
                    policy = DEMO_CSP if path == "/" else PAGE_CSP
                    headers["Content-Security-Policy"] = policy.replace(
                        "connect-src 'self'", f"connect-src 'self'{ws}"
                    )
                    headers["X-Frame-Options"] = "DENY"
                    # The mail pages' addresses carry their signed token: never sent on.
                    mail = path.startswith("/mail/")
                    headers["Referrer-Policy"] = "no-referrer" if mail else "same-origin"
                    if path.startswith("/moderate") or mail:
                        headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, with_headers)
