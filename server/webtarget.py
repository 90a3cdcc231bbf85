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

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges that Python's ipaddress calls global, or did before 3.11.10 and 3.12.4: each is
# either not routed on the internet or a tunnel to an address the check never saw.
_NOT_PUBLIC = tuple(
    ipaddress.ip_network(network)
    for network in (
        "192.0.0.0/24",  # IETF protocol assignments (RFC 6890)
        "2001::/32",  # Teredo: tunnels to an IPv4 address hidden in the suffix
        "2002::/16",  # 6to4: relays reach the IPv4 address in bits 16-47 (deprecated, RFC 7526)
        "64:ff9b:1::/48",  # NAT64 for local use (RFC 8215): the operator's own network
        "3fff::/20",  # documentation (RFC 9637)
        "fec0::/10",  # site-local (deprecated, RFC 3879)
    )
)
# NAT64's well-known prefix (RFC 6052) reaches the IPv4 address in its last 32 bits; DNS64 on
# an IPv6-only network answers every IPv4-only host with one, so it is judged by that address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


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
            raise Invalid(
                "webhook_unresolved", f"webhook host {host} does not resolve: {exc}"
            ) from None
        found = dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos)
        # IPv4 first (a receiver reachable both ways is more often reachable over v4), each
        # family in the resolver's order.
        addresses = sorted(found, key=lambda a: a.version)
    if not addresses:
        raise Invalid("webhook_unresolved", f"webhook host {host} has no address")
    if not allow_private:
        for address in addresses:
            if not public(address):
                raise Invalid(
                    "webhook_private",
                    f"webhook host {host} resolves to {address}, "
                    "not a public unicast address (set THREADLINE_WEBHOOK_PRIVATE=1 "
                    "to allow private ones)",
                )
    if _proxied(parts.scheme, host):
        return Target((url,), None, None)
    userinfo = parts.netloc.rpartition("@")[0]
    at_port = f":{port}" if port is not None else ""
    urls = tuple(
        urlunsplit(
            (
                parts.scheme,
                (f"{userinfo}@" if userinfo else "")
                + (f"[{a}]" if a.version == 6 else str(a))
                + at_port,
                parts.path or "/",
                parts.query,
                "",
            )
        )
        for a in addresses
    )
    return Target(
        urls,
        host_header=(f"[{host}]" if ":" in host else host) + at_port,
        tls_name=host if named and parts.scheme == "https" else None,
    )


def public(address: Address) -> bool:
    """Unicast on the public internet, by whatever route the address names: multicast,
    private, special-purpose and tunnelled addresses are not."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = address.ipv4_mapped or (
            ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF) if address in _NAT64 else None
        )
        if carried is not None:
            return public(carried)
    # is_reserved: IPv4's 240/4, and every IPv6 range outside 2000::/3, fc00::/7, fe80::/10
    # and ff00::/8, which takes the IPv4-compatible ::/96 along.
    if address.is_multicast or address.is_reserved or not address.is_global:
        return False
    return not any(address in network for network in _NOT_PUBLIC)


def _proxied(scheme: str, host: str) -> bool:
    proxies = urllib.request.getproxies()
    return bool(proxies.get(scheme) or proxies.get("all")) and not urllib.request.proxy_bypass(host)
