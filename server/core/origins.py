"""Origins: normalising them and matching them against a site's allowlist."""

from __future__ import annotations

from urllib.parse import urlsplit

from server.core.errors import Invalid

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(value: str) -> str:
    """``HTTPS://Blog.Example:443/`` -> ``https://blog.example``; ``*.`` host prefixes kept."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        raise Invalid("invalid_origin", f"{value!r} is not an origin") from None
    host = (parts.hostname or "").lower()
    wildcard = parts.netloc.split("@")[-1].startswith("*.")
    if parts.scheme not in _DEFAULT_PORTS or not host or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password:
        raise Invalid("invalid_origin",
                      f"{value!r} is not an origin like https://blog.example or http://host:8080")
    if wildcard:
        host = "*." + host.removeprefix("*.")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[parts.scheme]) else f"{host}:{port}"
    return f"{parts.scheme}://{netloc}"


def origin_of_url(url: str) -> str:
    parts = urlsplit(url)
    return normalize_origin(f"{parts.scheme}://{parts.netloc.split('@')[-1]}")


def origin_allowed(origin: str, allowlist: tuple[str, ...]) -> bool:
    """Exact match, or ``https://*.example.com`` matching any subdomain (not the apex)."""
    try:
        origin = normalize_origin(origin)
    except Invalid:
        return False
    if origin in allowlist:
        return True
    scheme, _, rest = origin.partition("://")
    for allowed in allowlist:
        a_scheme, _, a_rest = allowed.partition("://")
        if a_scheme == scheme and a_rest.startswith("*."):
            suffix = a_rest[1:]  # ".example.com[:port]"
            if rest.endswith(suffix) and len(rest) > len(suffix) and "[" not in rest:
                return True
    return False
