"""Log hygiene for the servers we run under: no client address and no query string reaches
a log, and nothing logs an ERROR for a request that was answered correctly."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_DENIAL_NOISE = "ASGI callable returned without completing handshake."
# uvicorn logs every websocket handshake (websockets-sansio, wsproto and legacy websockets
# alike) at INFO on uvicorn.error, with the client's address and the raw path and query.
_ACCEPTED = '%s - "WebSocket %s" [accepted]'
_CLOSED = '%s - "WebSocket %s" 403'
_ANSWERED = '%s - "WebSocket %s" %d'
_HANDSHAKES = frozenset({_ACCEPTED, _CLOSED, _ANSWERED})
# The websockets library, logging through uvicorn's logger, says the same once more per
# socket, with no context at all.
_CHATTER = frozenset({"connection open", "connection closed", "connection rejected (%d %s)"})
# What uvicorn's get_client_addr() makes ("203.0.113.7:5000", "::1:5000") and its trace
# lines' prefix ("203.0.113.7:5000 - ").
_ADDRESS = re.compile(r"^\[?[0-9A-Fa-f.:]+\]?:\d+(?: - )?$")
_access = logging.getLogger("threadline.access")
# uvicorn's lifespan steps, which say no more than "Started server process", Threadline's
# "ready" line and "Uvicorn running on ..." already do: kept at DEBUG only.
_LIFECYCLE = frozenset(
    {
        "Waiting for application startup.",
        "Application startup complete.",
        "Waiting for application shutdown.",
        "Application shutdown complete.",
    }
)
_socket_routes: frozenset[str] = frozenset()


class _DenialNoise(logging.Filter):
    """uvicorn's websockets-sansio logs an ERROR after every handshake refused through the
    websocket.http.response extension, though the client got the right answer
    (Kludex/uvicorn PR #3138). Threadline always accepts or refuses explicitly, so this
    record carries no information; alerting on it would page someone for every CSWSH probe."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DENIAL_NOISE


class _Lifecycle(logging.Filter):
    """A start-up is a few lines: uvicorn's lifespan chatter only when debugging."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.msg, str) or record.msg not in _LIFECYCLE:
            return True
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


class ClientAddresses(logging.Filter):
    """Drops or rewrites uvicorn's records that name a client (docs/privacy.md: no raw IP in
    any log). HTTP requests have Threadline's own access record (route template, status, ms;
    server.runtime.logs.RequestContext), so uvicorn's access lines are dropped. A websocket
    handshake becomes an access record too, ``WebSocket /ws 101``, by route and outcome,
    and only when access logging is on. The websockets library's wire traces at DEBUG
    (request line, headers such as X-Forwarded-For and cookies, frames) are dropped. Any
    other uvicorn record loses an argument shaped like a client address."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access":
            return False
        template = record.msg
        if not isinstance(template, str):
            return True
        if template in _HANDSHAKES:
            return _handshake_as_access(record)
        if template in _CHATTER:
            return False
        if record.levelno <= logging.DEBUG and template.startswith(("< ", "> ")):
            return False
        if isinstance(record.args, tuple):
            record.args = tuple(
                _ADDRESS.sub("", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def _handshake_as_access(record: logging.LogRecord) -> bool:
    if not _access.isEnabledFor(logging.INFO) or not isinstance(record.args, tuple):
        return False
    path = str(record.args[1]).split("?", 1)[0]
    route = path if path in _socket_routes else "unmatched"  # never a path a client made up
    if record.msg == _ACCEPTED:
        status = 101
    elif record.msg == _CLOSED:
        status = 403
    else:
        status = int(str(record.args[2]))
    record.name = _access.name
    record.msg, record.args = "WebSocket %s %d", (route, status)
    record.method, record.route, record.status = "WebSocket", route, status
    return True


_installed = False


def install(socket_routes: Iterable[str] = ()) -> None:
    """Filter uvicorn's loggers (idempotent). The filters sit on the loggers uvicorn and the
    websockets library write to, so every handler, ours or an operator's, sees clean records;
    ``socket_routes`` are the websocket paths the app serves, the only ones logged as such."""
    global _installed, _socket_routes
    _socket_routes = _socket_routes | frozenset(socket_routes)
    if _installed:
        return
    addresses = ClientAddresses()
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        logging.getLogger(name).addFilter(addresses)
    logging.getLogger("uvicorn.error").addFilter(_DenialNoise())
    logging.getLogger("uvicorn.error").addFilter(_Lifecycle())
    _installed = True
