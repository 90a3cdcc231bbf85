"""Logging: one JSON object per line (for collectors) or plain text (for a terminal), every
record inside a request carrying that request's id."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.metrics import HttpStats
from server.runtime import log_filters

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# An id from the proxy in front is kept so logs line up across hops; anything else is
# replaced, so a client cannot write arbitrary text into our logs.
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
# Not copied into a JSON record: logging's own attributes, and uvicorn's `color_message`
# (its message again, with ANSI colour codes for a terminal).
_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "request_id",
    "color_message",
}
access = logging.getLogger("threadline.access")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            out["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = getattr(record, "request_id", None)
        return f"{line} [{rid}]" if rid else line


def configure(fmt: str, level: str, access_log: bool = False) -> None:
    """Route every logger (ours, uvicorn's) through one handler on the root logger."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(_RequestIdFilter())
    handler.set_name("threadline")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "threadline"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # uvicorn's access lines carry the client's address and the raw query string; with no
    # handler anywhere uvicorn does not even format them (it asks hasHandlers()). Our own
    # record (RequestContext) is the access log.
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers.clear()
    uvicorn_access.propagate = False
    log_filters.install()
    access.setLevel(logging.INFO if access_log else logging.WARNING)
    # Alembic announces its plugins and its dialect at INFO every time a process starts; a
    # migration's own steps are reported by `threadline migrate`.
    logging.getLogger("alembic").setLevel(
        logging.NOTSET if level.lower() == "debug" else logging.WARNING
    )
    # httpx logs every request's full URL at INFO: a webhook URL often carries its
    # receiver's secret (Slack, Discord). Its warnings and errors still come through.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _given_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    # On the listing's hot path: a scan of the raw headers, no dict built per request.
    for name, value in headers:
        if name == b"x-request-id":
            given = value.decode("latin-1")
            return given if _GOOD_ID.match(given) else None
    return None


class RequestContext:
    """ASGI middleware: a request id for every HTTP request (echoed in `X-Request-ID`), an
    access-log record when enabled, and the latency metric by route template (never the raw
    path: comment ids would make a series per comment)."""

    def __init__(self, app: ASGIApp, stats: HttpStats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Websockets pass straight through: a frame held here for a socket's whole life
        # would cost every idle reader memory; their log records name page and site instead.
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _given_id(scope["headers"]) or uuid.uuid4().hex
        token = request_id.set(rid)
        began = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - began
            route = str(getattr(scope.get("route"), "path", None) or "unmatched")
            self.stats.observe(route, scope["method"], status, seconds)
            if access.isEnabledFor(logging.INFO):
                access.info(
                    "%s %s %d %.1f ms",
                    scope["method"],
                    route,
                    status,
                    seconds * 1000,
                    extra={
                        "method": scope["method"],
                        "route": route,
                        "status": status,
                        "ms": round(seconds * 1000, 2),
                    },
                )
            request_id.reset(token)
