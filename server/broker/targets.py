"""Where the broker's Redis is (issue #20): one server, a master that Sentinel watches, or
a Redis Cluster, read from ``THREADLINE_REDIS_URL``.

- ``redis://[USER:PASSWORD@]HOST:PORT[/DB]``, ``rediss://...`` (TLS), ``unix:///path``:
  one server, as before.
- ``redis+sentinel://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...]/SERVICE[/DB]``: the master
  of ``SERVICE`` as those sentinels name it, followed through failovers
  (``rediss+sentinel://`` speaks TLS to the master and its replicas).
- ``redis+cluster://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...]``: a Redis Cluster, found
  from any of those nodes (``rediss+cluster://`` for TLS). A cluster has database 0 only.

The credentials are the Redis servers', and the sentinels are asked with them too (a
common setup gives both one password). Anything else is refused when the process starts,
with what was expected and never with a piece of the URL (it may hold the password)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

Mode = Literal["single", "sentinel", "cluster"]
EXPECTED = (
    "expected redis://HOST:PORT/DB, rediss://..., unix:///PATH, "
    "redis+sentinel://HOST:PORT[,HOST:PORT...]/SERVICE[/DB] or "
    "redis+cluster://HOST:PORT[,HOST:PORT...] (rediss+... for TLS)"
)


class BrokerUrlError(ValueError):
    """``THREADLINE_REDIS_URL`` names no Redis this server can use."""


@dataclass(frozen=True)
class RedisTarget:
    mode: Mode
    url: str  # as given (single: what the client connects with)
    nodes: tuple[tuple[str, int], ...] = ()  # sentinels, or the cluster's seed nodes
    service: str | None = None  # the sentinel master's name
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False


def parse_target(url: str) -> RedisTarget:
    """The target ``url`` names, or ``BrokerUrlError`` saying what is wrong with it."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise BrokerUrlError(EXPECTED)
    scheme = scheme.lower()
    if scheme in ("redis", "rediss", "unix"):
        # Imported here: settings read this module, and `threadline --help` must not load
        # redis (which loads asyncio).
        from redis.connection import parse_url

        try:
            parse_url(url)  # type: ignore[no-untyped-call]
        except ValueError as exc:
            # (Not the parser's words: they can quote a piece of the password.)
            raise BrokerUrlError(f"not a Redis URL; {EXPECTED}") from exc
        return RedisTarget("single", url, tls=scheme == "rediss")
    base, _, mode = scheme.partition("+")
    if base not in ("redis", "rediss") or mode not in ("sentinel", "cluster"):
        raise BrokerUrlError(f"unknown scheme {scheme!r}; {EXPECTED}")
    if "?" in rest or "#" in rest:
        raise BrokerUrlError(f"no query or fragment is read from a {scheme} URL; {EXPECTED}")
    authority, _, path = rest.partition("/")
    username, password = None, None
    if "@" in authority:
        credentials, _, authority = authority.rpartition("@")
        user, has_password, secret = credentials.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if has_password else None
        if not has_password:  # SECRET@host: taken as the password (a username needs one)
            username, password = None, unquote(user)
    nodes = tuple(_node(n, part) for n, part in enumerate(authority.split(","), 1))
    parts = [unquote(p) for p in path.split("/") if p]
    if mode == "cluster":
        if parts:
            raise BrokerUrlError(f"a cluster URL names no database or service; {EXPECTED}")
        return RedisTarget(
            "cluster", url, nodes, username=username, password=password, tls=base == "rediss"
        )
    if not parts or len(parts) > 2:
        raise BrokerUrlError(f"a sentinel URL names the master's service; {EXPECTED}")
    db = 0
    if len(parts) == 2:
        if not _number(parts[1]):
            raise BrokerUrlError(f"the database is not a number; {EXPECTED}")
        db = int(parts[1])
    return RedisTarget(
        "sentinel",
        url,
        nodes,
        service=parts[0],
        db=db,
        username=username,
        password=password,
        tls=base == "rediss",
    )


def _number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _node(n: int, text: str) -> tuple[str, int]:
    """A node's HOST:PORT ([ADDRESS]:PORT for IPv6). Errors name its place, never its text:
    a password with a / or a , in it lands here."""
    host, colon, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host or "[" in host or "]" in host:
        host = ""  # an IPv6 address without its brackets, or half of them
    if (
        not colon
        or not host
        or any(c.isspace() or c in "/?#@" for c in host)
        or not _number(port)
        or not 0 < int(port) < 65536
    ):
        raise BrokerUrlError(f"node {n} is not HOST:PORT; {EXPECTED}")
    return host, int(port)
