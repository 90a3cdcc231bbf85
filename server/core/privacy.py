"""Client IPs are never stored: only a keyed hash of their network prefix."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress


def network_of(ip: str) -> str:
    """IPv4 to its /24, IPv6 to its /48 (Isso's anonymisation), as a string."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return "unknown"
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))


def ip_hash(secret: str, ip: str) -> str:
    return hmac.new(secret.encode(), network_of(ip).encode(), hashlib.sha256).hexdigest()[:32]
