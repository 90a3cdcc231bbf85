"""Origins: normalising them and matching them against a site's allowlist, read as browsers
read them (WHATWG), so the check sees the host a browser will go to."""

from __future__ import annotations

from functools import lru_cache

from server.core.errors import Invalid
from server.core.urls import WebUrl, read_web_url

_WILDCARD = "*."


def normalize_origin(value: str) -> str:
    """``HTTPS://Blog.Example:443/`` -> ``https://blog.example``; ``https://*.example.com``
    (any subdomain) kept; IDN hosts in their ASCII form."""
    text = value.strip()
    scheme, separator, rest = text.partition("://")
    wildcard = bool(separator) and rest.startswith(_WILDCARD)
    if wildcard:
        text = scheme + separator + rest.removeprefix(_WILDCARD)
    url = _origin_url(value, text)
    if wildcard:
        if not url.domain:
            raise Invalid("invalid_origin", f"{value!r}: a wildcard needs a domain after '*.'")
        port = f":{url.port}" if url.port is not None else ""
        return f"{url.scheme}://{_WILDCARD}{url.host}{port}"
    return url.origin


def _origin_url(value: str, text: str) -> WebUrl:
    problem = f"{value!r} is not an origin like https://blog.example or http://host:8080"
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise Invalid("invalid_origin", problem)
    try:
        url = read_web_url(text)
    except ValueError:
        raise Invalid("invalid_origin", problem) from None
    # '*' is a legal host character to a browser, but only a leading '*.' means anything
    # here, and no browser sends an origin with one.
    if url.credentials or url.path != "/" or url.query or url.fragment or "*" in url.host:
        raise Invalid("invalid_origin", problem)
    return url


def origin_of_url(url: str) -> str:
    """The origin a browser gives ``url``: its scheme, host and port."""
    try:
        return read_web_url(url).origin
    except ValueError:
        raise Invalid("invalid_url", "url is not an http or https URL") from None


def origin_allowed(origin: str, allowlist: tuple[str, ...]) -> bool:
    """Exact match, or ``https://*.example.com`` matching any subdomain (not the apex)."""
    try:
        origin = _origin_url(origin, origin.strip()).origin
    except Invalid:
        return False
    allowed = _normalized(allowlist)
    if origin in allowed:
        return True
    scheme, _, rest = origin.partition("://")
    for entry in allowed:
        a_scheme, _, a_rest = entry.partition("://")
        if a_scheme == scheme and a_rest.startswith(_WILDCARD):
            suffix = a_rest[1:]  # ".example.com[:port]"
            if rest.endswith(suffix) and len(rest) > len(suffix) and "[" not in rest:
                return True
    return False


@lru_cache(maxsize=256)
def _normalized(allowlist: tuple[str, ...]) -> frozenset[str]:
    """A site's origins as this module reads them today: rows stored by an older reading
    (an IDN host in Unicode) still match what browsers send."""
    normal = set()
    for entry in allowlist:
        try:
            normal.add(normalize_origin(entry))
        except Invalid:
            continue  # an entry no browser origin could match
    return frozenset(normal)
