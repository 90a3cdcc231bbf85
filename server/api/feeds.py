"""Atom feeds (RFC 4287) of the newest approved comments, per site and per page."""

from __future__ import annotations

import hashlib
from urllib.parse import quote, urlencode
from xml.etree import ElementTree as ET

from server.core.models import Comment, Page, Site, iso

ATOM = "http://www.w3.org/2005/Atom"
TITLE_CHARS = 80


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _entry(feed: ET.Element, site: Site, comment: Comment, page: Page) -> None:
    entry = _sub(feed, "entry")
    _sub(entry, "id", f"urn:threadline:{site.id}:comment:{comment.id}")
    name = comment.author_name or "No Name"
    where = page.title or page.key
    summary = " ".join(comment.body.split())
    if len(summary) > TITLE_CHARS:
        summary = summary[: TITLE_CHARS - 1] + "\u2026"
    _sub(entry, "title", f"{name} on {where}: {summary}")
    _sub(entry, "published", iso(comment.created_at))
    _sub(entry, "updated", iso(comment.edited_at or comment.created_at))
    _sub(_sub(entry, "author"), "name", name)
    if page.url:
        _sub(entry, "link", rel="alternate", type="text/html", href=page.url)
    # type="text": a feed reader shows the body as plain text, exactly as the widget does.
    _sub(entry, "content", comment.body, type="text")


def render(
    site: Site, page: Page | None, items: list[tuple[Comment, Page]], public_url: str | None
) -> bytes:
    """The feed. Its ``self`` link is built from THREADLINE_PUBLIC_URL, never from the
    request's Host header (a forged Host would otherwise be written into the feed, and
    into any cache that keeps it); without it the feed has no ``self`` link."""
    feed = ET.Element("feed", {"xmlns": ATOM})
    scope = f"page:{page.key}" if page is not None else "site"
    _sub(
        feed,
        "id",
        f"urn:threadline:{site.id}:feed:" + hashlib.sha256(scope.encode()).hexdigest()[:32],
    )
    where = (page.title or page.key) if page is not None else site.name or site.id
    _sub(feed, "title", f"Comments on {where}")
    newest = max((c.edited_at or c.created_at for c, _ in items), default=0)
    _sub(feed, "updated", iso(newest))
    _sub(feed, "generator", "Threadline")
    if public_url:
        query = "?" + urlencode({"page": page.key}) if page is not None else ""
        _sub(
            feed,
            "link",
            rel="self",
            type="application/atom+xml",
            href=f"{public_url.rstrip('/')}/api/v1/sites/{quote(site.id)}/feed.atom{query}",
        )
    if page is not None and page.url:
        _sub(feed, "link", rel="alternate", type="text/html", href=page.url)
    for comment, of_page in items:
        _entry(feed, site, comment, of_page)
    xml: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return xml
