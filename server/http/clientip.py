"""The client's IP: the peer address, or X-Forwarded-For when the peer is a trusted proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from starlette.types import Scope


@lru_cache(maxsize=16)
def _networks(
    trusted: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(t, strict=False) for t in trusted)


def _trusted(ip: str, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in net for net in networks)


def is_trusted(ip: str, trusted: tuple[str, ...]) -> bool:
    """Whether ``ip`` is one of the trusted proxies."""
    return bool(trusted) and _trusted(ip, _networks(trusted))


def client_ip(scope: Scope, trusted: tuple[str, ...]) -> str:
    """Walk X-Forwarded-For from the right, past trusted proxies only: a client cannot
    forge its address by sending the header itself."""
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    if not trusted:
        return peer
    networks = _networks(trusted)
    if not _trusted(peer, networks):
        return peer
    forwarded: list[str] = []
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            forwarded.extend(part.strip() for part in value.decode("latin-1").split(","))
    for hop in reversed(forwarded):
        if not _trusted(hop, networks):
            return hop
    return forwarded[0] if forwarded else peer


def client_key(ip: str) -> str:
    """What one client's connections are counted by: its IPv4 address, or its IPv6 /64 (one
    subscriber's LAN; counting full IPv6 addresses would let a /64 hold unlimited sockets)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # a dual-stack socket's IPv4 client
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
