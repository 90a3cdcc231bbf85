"""The composition root: the one module that knows every part. It builds a process's parts
(``build_state``), starts and stops them, and makes the ASGI application around them
(``create_app``, and ``app`` for uvicorn and the Procfile)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from server.api.routes import routes as api_routes
from server.api.site_origins import SiteOrigins
from server.broker import create_broker
from server.broker.channels import MODERATION_PREFIX
from server.core.authors import AuthorTokens
from server.core.context import Limits, Services
from server.core.erasure import forget_old_data
from server.core.errors import DomainError
from server.core.failures import log_failure
from server.core.names import warm as warm_name_checks
from server.core.passwords import hasher
from server.core.sites import SiteDirectory
from server.core.wordfold import warm as warm_word_filters
from server.fanout_worker import FanOutWorker
from server.http.body_limit import BodyLimit
from server.http.errors import domain_error_handler
from server.http.security_headers import SecurityHeaders
from server.http.sockets import SocketHandler, Sockets
from server.live.endpoint import ws_endpoint
from server.live.moderation_queue import ModerationQueueHub
from server.live.node import LiveNode
from server.mail.outbox import MailOutbox
from server.moderation.render import ERROR_PAGES as moderation_error_pages
from server.moderation.routes import routes as moderation_routes
from server.moderation.socket import moderation_ws
from server.notify import Notifier
from server.runtime import gctune, log_filters, logs
from server.settings import Settings
from server.state import AppState
from server.store.database import SqlStore
from server.store.migrate import check_migrated
from server.web import mail_pages
from server.web.i18n import widget_messages
from server.web.metrics import metrics
from server.web.pages import demo_css, demo_page, healthz, http_error, readyz, server_error
from server.web.widget import COUNT, EngageAsset, NotifyAsset, WidgetAsset

log = logging.getLogger("threadline")


def build_state(settings: Settings, clock: Callable[[], float] = time.time) -> AppState:
    """Every part of one process, wired; nothing here does I/O."""
    node_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    store = SqlStore(settings.database_url)
    broker = create_broker(settings.redis_url, node_id)
    hub = LiveNode(broker, store)
    mail = MailOutbox(settings, store, clock)
    services = Services(
        store=store,
        publisher=hub,
        limiter=broker,
        tokens=AuthorTokens(settings.secret_key),
        secret=settings.secret_key,
        clock=clock,
        notifications=settings.notifications,
        limits=Limits(
            edit_window=settings.edit_window,
            page_size=settings.page_size,
            reply_page_size=settings.reply_page_size,
            rate_limit=settings.rate_limit,
            page_rate_limit=settings.page_rate_limit,
            min_submit_ms=settings.min_submit_ms,
            mail_digest_ms=settings.mail_digest_seconds * 1000,
        ),
        mail=mail.enabled,
    )
    modhub = ModerationQueueHub(broker, services)
    hub.route(MODERATION_PREFIX, modhub.on_message)
    sites = SiteDirectory(store)
    notifier = Notifier(settings, sites)
    services.observers.extend([modhub, notifier])
    state = AppState(
        settings=settings,
        store=store,
        broker=broker,
        hub=hub,
        services=services,
        sites=sites,
        passwords=hasher(settings.password_profile),
        node_id=node_id,
        modhub=modhub,
        notifier=notifier,
        mail=mail,
        fanout=FanOutWorker(services),
    )
    # A change on any process forgets this process's cached first pages of that thread.
    hub.page_changed.append(state.thread_cache.forget)
    hub.all_changed.append(state.thread_cache.clear)
    return state


async def start(state: AppState) -> None:
    await check_migrated(state.store)
    warm_word_filters()  # before any request, rather than in the first one they read
    warm_name_checks()
    await state.hub.start()
    await state.notifier.start()
    await state.modhub.start()
    await state.mail.start()
    await state.fanout.start()
    state.maintenance = asyncio.create_task(_maintain(state), name="threadline-maintain")
    gctune.tune()
    log.info(
        "threadline node %s ready (%s, %s)",
        state.node_id,
        state.store.dialect,
        "redis" if state.settings.redis_url else "in-process broker",
    )


async def stop(state: AppState) -> None:
    state.shutting_down = True
    if state.maintenance is not None:
        state.maintenance.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await state.maintenance
    state.background.cancel()
    await state.fanout.close()
    await state.mail.close()
    await state.modhub.close()
    await state.notifier.close()
    await state.hub.close()
    await state.store.close()


async def _maintain(state: AppState) -> None:
    """Hourly, in every process (it is idempotent): forget IP hashes after 30 days, drop
    expired sessions, blank what moderators deleted 30 days ago."""
    while True:
        try:
            hashes, sessions, texts = await forget_old_data(state.services)
            if hashes or sessions or texts:
                log.info(
                    "forgot %d IP hashes, %d expired sessions and the text of %d "
                    "comments deleted 30 days ago",
                    hashes,
                    sessions,
                    texts,
                )
        except Exception:  # noqa: BLE001 -- log_failure logs it
            log_failure(log, "maintenance failed; retrying in an hour")
        await asyncio.sleep(3600)


def create_app(settings: Settings, *, clock: Callable[[], float] = time.time) -> Starlette:
    """Build the app. Nothing here does I/O; the lifespan opens and closes resources."""
    state = build_state(settings, clock=clock)
    sockets: dict[str, SocketHandler] = {"/ws": ws_endpoint, "/moderate/ws": moderation_ws}
    log_filters.install(socket_routes=sockets)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await start(state)
        try:
            yield
        finally:
            await stop(state)

    app = Starlette(
        routes=[
            Route("/", demo_page, methods=["GET"]),
            Route("/demo.css", demo_css, methods=["GET"]),
            Route("/widget.js", WidgetAsset().serve, methods=["GET", "HEAD"]),
            Route("/widget-engage.js", EngageAsset().serve, methods=["GET", "HEAD"]),
            Route("/widget-notify.js", NotifyAsset().serve, methods=["GET", "HEAD"]),
            Route("/count.js", WidgetAsset(COUNT).serve, methods=["GET", "HEAD"]),
            Route("/i18n", widget_messages, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/mail/confirm", mail_pages.confirm_page, methods=["GET"]),
            Route("/mail/confirm", mail_pages.confirm_post, methods=["POST"]),
            Route("/mail/unsubscribe", mail_pages.unsubscribe_page, methods=["GET"]),
            Route("/mail/unsubscribe", mail_pages.unsubscribe_post, methods=["POST"]),
            Route("/mail/manage", mail_pages.manage_page, methods=["GET"]),
            Route("/mail/manage", mail_pages.manage_post, methods=["POST"]),
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
