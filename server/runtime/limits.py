"""The bounds on what one client may send or hold, and the refusals that enforce them.

A request's head (request line and headers) is bounded, in bytes, in header fields and in
the length of its target, and so are a chunked body's trailers: httptools buffers a header
value until its end without a callback, so the bytes received while a head is incomplete
are counted too, from where in its read the head began (a pipelining client sends the start
of the next head in the read that ends the last request). Over a limit the client gets 431
(or 414) and the connection closes.

uvicorn's ``limit_concurrency`` is global: one client holding thousands of idle sockets
would shut everyone else out. So one client address (an IPv6 /64, which one subscriber
usually gets) may hold at most ``THREADLINE_HTTP_MAX_PER_IP`` HTTP connections in this
process; the next is answered 429 before it is read. A connection that becomes a websocket
hands its place over to the websocket's own per-IP limit (server.live.rooms); trusted proxies,
through which every reader comes, are not counted."""

from __future__ import annotations

import ipaddress
import json
import os
from collections import Counter
from collections.abc import Sequence
from functools import cache

from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from server.http.clientip import client_key, is_trusted
from server.settings import Settings

ABORT_AFTER = 5.0
# nginx's default ceiling for a whole head (large_client_header_buffers 4 x 8k); Node allows
# 16 KiB, Go 1 MiB. Threadline's requests carry a few small headers, but a browser sends
# every cookie of a parent domain the comments host shares with the blog.
MAX_HEAD_BYTES = 32 * 1024
MAX_HEADERS = 100  # Apache's and gunicorn's LimitRequestFields; browsers send ~20
# nginx's and Apache's line limit (8k); count.js keeps its batched GETs under 6,000.
MAX_TARGET = 8 * 1024


class Refusal(Exception):
    """A limit hit while parsing: answered with ``status`` and a JSON error, then closed."""

    def __init__(
        self, status: int, code: str, message: str, headers: Sequence[tuple[bytes, bytes]] = ()
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers

    def response(self, default_headers: Sequence[tuple[bytes, bytes]]) -> bytes:
        body = json.dumps({"error": {"code": self.code, "message": self.message}}).encode()
        head = [STATUS_LINE[self.status]]
        for name, value in [
            *default_headers,
            *self.headers,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]:
            head += [name, b": ", value, b"\r\n"]
        return b"".join([*head, b"\r\n", body])


# A fresh exception each time: one raised again and again would grow its traceback.
def head_too_large() -> Refusal:
    return Refusal(
        431,
        "headers_too_large",
        f"the request line and headers may be at most {MAX_HEAD_BYTES} bytes",
    )


def too_many_headers() -> Refusal:
    return Refusal(431, "too_many_headers", f"at most {MAX_HEADERS} header fields")


def target_too_long() -> Refusal:
    return Refusal(414, "url_too_long", f"the URL may be at most {MAX_TARGET} bytes")


def too_many_connections(limit: int) -> Refusal:
    return Refusal(
        429,
        "too_many_connections",
        f"at most {limit} open connections per client address",
        [(b"retry-after", b"10")],
    )


@cache
def settings() -> Settings:
    # Read the way server.app builds the app: this class is named in uvicorn's options and
    # instantiated by uvicorn in each worker process, with no way to pass it arguments.
    return Settings.from_env(os.environ)


def request_timeout() -> float:
    return float(settings().request_timeout)


def connection_key(host: str, trusted: tuple[str, ...]) -> str | None:
    """What a client's HTTP connections are counted by: its IPv4 address, or its IPv6 /64;
    None for a trusted proxy or a peer without an IP address (a Unix socket)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return None if is_trusted(host, trusted) else client_key(host)


# Open HTTP connections by connection_key, in this process (each worker counts its own).
open_connections: Counter[str] = Counter()
