"""The ASGI application: ``create_app(settings)``, and ``app`` for uvicorn and the Procfile."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from server.api.routes import routes as api_routes
from server.api.site_origins import SiteOrigins
from server.core.errors import DomainError
from server.http.body_limit import BodyLimit
from server.http.errors import domain_error_handler
from server.http.security_headers import SecurityHeaders
from server.http.sockets import SocketHandler, Sockets
from server.live.endpoint import ws_endpoint
from server.moderation.render import ERROR_PAGES as moderation_error_pages
from server.moderation.routes import routes as moderation_routes
from server.moderation.socket import moderation_ws
from server.runtime import log_filters, logs
from server.settings import Settings
from server.state import AppState
from server.web.i18n import widget_messages
from server.web.metrics import metrics
from server.web.pages import demo_css, demo_page, healthz, http_error, readyz, server_error
from server.web.widget import COUNT, WidgetAsset


def create_app(settings: Settings, *, clock: Callable[[], float] = time.time) -> Starlette:
    """Build the app. Nothing here does I/O; the lifespan opens and closes resources."""
    state = AppState.build(settings, clock=clock)
    sockets: dict[str, SocketHandler] = {"/ws": ws_endpoint, "/moderate/ws": moderation_ws}
    log_filters.install(socket_routes=sockets)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await state.start()
        try:
            yield
        finally:
            await state.close()

    app = Starlette(
        routes=[
            Route("/", demo_page, methods=["GET"]),
            Route("/demo.css", demo_css, methods=["GET"]),
            Route("/widget.js", WidgetAsset().serve, methods=["GET", "HEAD"]),
            Route("/count.js", WidgetAsset(COUNT).serve, methods=["GET", "HEAD"]),
            Route("/i18n", widget_messages, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *api_routes(),
            *moderation_routes(),
        ],
        middleware=[
            Middleware(Sockets, routes=sockets),
            Middleware(logs.RequestContext, stats=state.http_stats),
            Middleware(SecurityHeaders, production=settings.production),
            Middleware(BodyLimit),
            Middleware(SiteOrigins, sites=state.sites),
        ],
        exception_handlers={
            DomainError: domain_error_handler(moderation_error_pages),
            HTTPException: http_error,
            Exception: server_error,
        },
        lifespan=lifespan,
    )
    app.state.tl = state
    return app


class _AppFromEnvironment:
    """``server.app:app``: built from the environment on first use, so importing this
    module (tests, tools) has no side effects."""

    def __init__(self) -> None:
        self._app: Starlette | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            settings = Settings.from_env(os.environ)
            logs.configure(settings.log_format, settings.log_level, settings.access_log)
            self._app = create_app(settings)
        await self._app(scope, receive, send)


app = _AppFromEnvironment()
