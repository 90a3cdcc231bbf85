"""Where a webhook may go: its host resolved once and checked against our own network, and
the request pinned to the checked addresses, so a DNS answer that changes after the check
(rebinding) is never used. Behind an HTTP(S) proxy from the environment the proxy resolves
and connects instead; the check still runs."""

from __future__ import annotations

import asyncio
import ipaddress
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from server.core.errors import Invalid


@dataclass(frozen=True, slots=True)
class Target:
    urls: tuple[str, ...]  # to try in order: one per checked address (or the URL itself)
    host_header: str | None  # the name the receiver knows itself by, when pinned
    tls_name: str | None  # the name its certificate must carry, when pinned over https


async def check_target(url: str, allow_private: bool) -> Target:
    """Refuse webhook targets inside our own network unless the operator allows them."""
    parts = urlsplit(url)
    try:
        host = (parts.hostname or "").encode("idna").decode("ascii")
        port = parts.port
    except (UnicodeError, ValueError):
        raise Invalid("webhook_url", "the webhook URL's host or port is malformed") from None
    try:
        addresses, named = [ipaddress.ip_address(host)], False
    except ValueError:
        named = True
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port or 443)
        except OSError as exc:
            raise Invalid("webhook_unresolved", f"webhook host {host} does not resolve: "
                                                f"{exc}") from None
        found = dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0])
                              for info in infos)
        # IPv4 first (a receiver reachable both ways is more often reachable over v4), each
        # family in the resolver's order.
        addresses = sorted(found, key=lambda a: a.version)
    if not addresses:
        raise Invalid("webhook_unresolved", f"webhook host {host} has no address")
    if not allow_private:
        for address in addresses:
            if not address.is_global:
                raise Invalid("webhook_private", f"webhook host {host} resolves to {address}, "
                              "a private address (set THREADLINE_WEBHOOK_PRIVATE=1 to allow)")
    if _proxied(parts.scheme, host):
        return Target((url,), None, None)
    userinfo = parts.netloc.rpartition("@")[0]
    at_port = f":{port}" if port is not None else ""
    urls = tuple(urlunsplit((
        parts.scheme, (f"{userinfo}@" if userinfo else "")
        + (f"[{a}]" if a.version == 6 else str(a)) + at_port,
        parts.path or "/", parts.query, "")) for a in addresses)
    return Target(urls, host_header=(f"[{host}]" if ":" in host else host) + at_port,
                  tls_name=host if named and parts.scheme == "https" else None)


def _proxied(scheme: str, host: str) -> bool:
    proxies = urllib.request.getproxies()
    return bool(proxies.get(scheme) or proxies.get("all")) \
        and not urllib.request.proxy_bypass(host)

