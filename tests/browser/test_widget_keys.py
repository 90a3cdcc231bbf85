"""Pages known by their URL: the widget, count.js and the importers key them by one rule."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Route, expect

from server.core.import_write import import_batch
from server.core.imports import PageKey
from server.core.sites import SiteDirectory
from server.core.urls import url_page_key
from server.imports import read
from tests.support.browser import Comments, open_page

pytestmark = pytest.mark.e2e
WIDGET = Path(__file__).resolve().parents[2] / "widget"

# As readers' address bars, canonical links and exports spell them; each is first read by
# the browser (as the widget sees location.href), then keyed by both sides.
URLS = [
    "https://blog.example/post",
    "https://blog.example/?p=42",
    "https://blog.example/?p=43#comment-7",
    "https://blog.example/?p=42#!/hashbang?utm_source=x",
    "https://blog.example/index.php?p=42&utm_source=feed&utm_medium=rss",
    "https://blog.example/a/b/?UTM_Campaign=x&page=2&Fbclid=abc",
    "https://blog.example/?gclid=1&dclid=2&msclkid=3&mc_cid=4&mc_eid=5&igshid=6&yclid=7"
    "&ref_src=8&_ga=9&_gl=10",
    "https://blog.example/?utm_source=only",
    "https://blog.example/?b=2&a=1&b=1",
    "https://blog.example/?ref=home&utm=1&utm_=2&utm_x=3",
    "https://blog.example/?q=caf%C3%A9+au+lait&x=a%20b&y=a+b",
    "https://blog.example/?tilde=~&star=*&bang=!&paren=(x)&quote='&dollar=$",
    "https://blog.example/?flag&empty=&=v&&x==y",
    "https://blog.example/?a=1;b=2",
    "https://blog.example/?plus=%2B%26%3D&slash=a/b?c",
    "https://blog.example/?bad=%FF%FE&cut=%E2%82&odd=%zz",
    "https://blog.example/?%75tm_source=x&p=1",
    "https://blog.example/?fbcl\u0131d=1&mscl\u212aid=2",  # dotless i, Kelvin sign: not ASCII
    "http://blog.example:8080/path%20with/\u00fc/?p=1",
    "https://B\u00fccher.example/?p=1",
    "http://[::1]:8000/?p=1",
]


def _at_least(asked: list[str], count: int) -> bool:
    return len(asked) >= count


async def until(ready: Callable[[], bool], timeout: float = 10) -> None:
    """Wait for a request the page makes (its handler records it)."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, "the page made no such request"
        await asyncio.sleep(0.02)


def page_html(canonical: str | None = None) -> str:
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return (
        f"<!doctype html><html><head>{link}</head><body><div id=threadline></div>"
        '<script src="/widget.js" data-site="s" async></script></body></html>'
    )


async def test_widget_count_js_and_importer_key_urls_alike(new_context: Any) -> None:
    """Each page is served (by the test, at its own URL) with the widget; the page key its
    thread request carries is compared with the importer's for the same URL."""
    ctx = await new_context()
    page = await ctx.new_page()
    asked: list[str] = []
    html = {"doc": page_html()}

    async def serve(route: Route) -> None:
        url = route.request.url
        if url.endswith("/widget.js"):
            await route.fulfill(
                body=(WIDGET / "threadline.js").read_text(), content_type="text/javascript"
            )
        elif url.endswith("/count.js"):
            await route.fulfill(
                body=(WIDGET / "count.js").read_text(), content_type="text/javascript"
            )
        elif "/api/v1/sites/s/" in url:
            asked.extend(parse_qs(urlsplit(url).query, keep_blank_values=True)["page"])
            await route.fulfill(status=503, body="{}", content_type="application/json")
        else:
            await route.fulfill(body=html["doc"], content_type="text/html")

    await page.route("**/*", serve)
    seen: list[str] = []
    for n, url in enumerate(URLS, 1):
        await page.goto(url)
        seen.append(await page.evaluate("location.href"))
        await until(partial(_at_least, asked, n))
    widget_keys = list(asked)
    assert widget_keys == [url_page_key(href) for href in seen]
    # A canonical link is keyed by the same rule.
    asked.clear()
    html["doc"] = page_html("/canonical/?utm_source=x&p=7#top")
    await page.goto("https://blog.example/elsewhere?p=8")
    await until(lambda: len(asked) > 0)
    assert asked == ["https://blog.example/canonical/?p=7"]
    # count.js's data-url: one batched request naming every key.
    asked.clear()
    spans = "".join(
        f"<span data-threadline-count data-url='{json.dumps(h)[1:-1]}'></span>" for h in seen
    )
    html["doc"] = f'{spans}<script src="/count.js" data-site="s" async></script>'
    await page.goto("https://blog.example/index")
    await until(lambda: len(asked) > 0)
    assert sorted(asked) == sorted({url_page_key(h) for h in seen})
    # the premise: the widget's old rule (path only) would have merged these
    assert len(set(widget_keys)) > len(
        {urlsplit(h)._replace(query="", fragment="").geturl() for h in seen}
    )


WXR = """<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel><title>WP</title><link>{origin}</link><wp:wxr_version>1.2</wp:wxr_version>
<item><title>Post 42</title><link>{origin}/wp.html?p=42&amp;utm_source=feed</link>
<wp:post_id>42</wp:post_id><wp:post_type>post</wp:post_type><wp:status>publish</wp:status>
<wp:comment><wp:comment_id>1</wp:comment_id><wp:comment_author>Chen</wp:comment_author>
<wp:comment_date_gmt>2024-03-01 10:00:00</wp:comment_date_gmt>
<wp:comment_content>Imported from WordPress</wp:comment_content>
<wp:comment_approved>1</wp:comment_approved><wp:comment_type>comment</wp:comment_type>
<wp:comment_parent>0</wp:comment_parent></wp:comment></item>
</channel></rss>
"""


async def test_query_chosen_pages_keep_their_threads_and_show_imported_ones(
    comments: Comments, new_context: Any, tmp_path: Path
) -> None:
    site = await comments.site()
    origin = comments.host.origin
    export = tmp_path / "wp.xml"
    export.write_text(WXR.format(origin=origin))
    await import_batch(
        comments.store,
        await SiteDirectory(comments.store).get(site),
        read("wxr", export),
        keys=PageKey.URL,
        base_url=None,
        now=int(time.time() * 1000),
    )
    # No data-page: the widget keys the page by its URL, as most embeds do.
    comments.host.page(
        "wp.html",
        '<div id="threadline"></div><script src="'
        f'{comments.base}/widget.js" data-site="{site}" async></script>',
    )
    ctx = await new_context()
    p42 = await open_page(ctx, f"{origin}/wp.html?p=42&utm_source=newsletter#comments")
    await expect(p42.get_by_text("Imported from WordPress")).to_be_visible()
    await expect(p42.get_by_role("heading", name="1 comment", exact=True)).to_be_visible()
    p43 = await open_page(ctx, f"{origin}/wp.html?p=43")
    await expect(p43.get_by_text("Be the first to leave a comment.")).to_be_visible()
    await p43.get_by_label("Comment").fill("Only about post 43")
    await p43.get_by_role("button", name="Submit").click()
    await expect(p43.locator("li.c", has_text="Only about post 43")).to_be_visible()
    await p42.reload()
    await expect(p42.get_by_text("Imported from WordPress")).to_be_visible()
    await expect(p42.get_by_text("Only about post 43")).to_have_count(0)
    async with comments.store.read() as tx:
        page = await tx.find_page(site, f"{origin}/wp.html?p=43")
    assert page is not None and page.url == f"{origin}/wp.html?p=43"
