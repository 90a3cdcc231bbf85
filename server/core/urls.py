"""Web URLs read as browsers read them (the WHATWG URL standard, through Ada), and refused
where another reader would see another host: `http://evil.test\\@blog.example/` is
evil.test to a browser and blog.example to Python's urlsplit."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ada_url import HostType, idna_to_ascii, parse_url

DEFAULT_PORTS = {"http": 80, "https": 443}
# Query parameters that only say how a reader arrived (campaigns, ad clicks, newsletters,
# shares): the same page without them. Names are matched whole, ignoring ASCII case. The
# widget (widget/src/page-key.js) and count.js hold the same list: a test compares.
TRACKING = re.compile(
    r"utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|yclid|"
    r"ref_src|_ga|_gl",
    re.IGNORECASE | re.ASCII,
)


def url_page_key(url: str) -> str:
    """The thread key of a page known only by its URL, the rule the widget and importers
    share: the URL without its fragment and without tracking parameters, the page-choosing
    query (WordPress's ``?p=42``) kept in its order, re-encoded as a form would
    (``urlencode``: spaces as ``+``, everything but letters, digits and ``_.-~`` escaped)."""
    parts = urlsplit(url)
    kept = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not TRACKING.fullmatch(k)
    ]
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(kept), ""))


class UrlMalformed(ValueError):
    """Not an absolute http(s) URL with a host, as a browser reads it."""


class UrlAmbiguous(ValueError):
    """A browser and Python's urlsplit read a different scheme, host or port in it."""


@dataclass(frozen=True, slots=True)
class WebUrl:
    href: str  # the WHATWG serialisation, which every reader reads alike
    scheme: str  # http | https
    host: str  # ASCII: punycode domain, dotted IPv4 or [IPv6]
    port: int | None  # None: the scheme's default
    origin: str  # scheme://host[:port]
    domain: bool  # a name, not an IP address
    credentials: bool  # a user name or password before the host
    path: str
    query: str
    fragment: str


def read_web_url(text: str) -> WebUrl:
    """``text`` as a browser reads it; refused when Python's reading differs."""
    try:
        parts = parse_url(text)
    except ValueError:
        raise UrlMalformed("is malformed") from None
    scheme = parts["protocol"].removesuffix(":")
    if scheme not in DEFAULT_PORTS or not parts["hostname"]:
        raise UrlMalformed("must be an absolute http or https URL")
    url = WebUrl(
        href=parts["href"],
        scheme=scheme,
        host=parts["hostname"],
        port=int(parts["port"]) if parts["port"] else None,
        origin=parts["origin"],
        domain=parts["host_type"] is HostType.DEFAULT,
        credentials=bool(parts["username"] or parts["password"]),
        path=parts["pathname"],
        query=parts["search"],
        fragment=parts["hash"],
    )
    if not _python_reads_alike(text, url):
        raise UrlAmbiguous("is read as another address by browsers than by other software")
    return url


def _python_reads_alike(text: str, url: WebUrl) -> bool:
    """Whether urlsplit finds the scheme, host and port a browser finds. Backslashes, a
    missing `//`, percent-encoded or shortened hosts (`127.1`) are where they part."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != url.scheme or not parts.hostname:
        return False
    if (port or DEFAULT_PORTS[url.scheme]) != (url.port or DEFAULT_PORTS[url.scheme]):
        return False
    if url.host.startswith("["):
        try:
            return ipaddress.ip_address(parts.hostname) == ipaddress.ip_address(url.host[1:-1])
        except ValueError:
            return False
    # The browser's domain-to-ASCII (UTS #46) applied to Python's host: case, IDN and
    # width differences are the same name; anything else is another host.
    return idna_to_ascii(parts.hostname).decode("ascii", "replace") == url.host
