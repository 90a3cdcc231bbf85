"""Comment counts on an index page: /count.js fills every span with one request."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Request, expect

from tests.support.browser import Comments, open_page

pytestmark = pytest.mark.e2e


async def test_index_page_counts_come_in_one_request(comments: Comments, new_context: Any) -> None:
    site = await comments.site()
    for i in range(3):
        await comments.post(site, "first", f"comment {i}")
    await comments.post(site, "second", "only one")
    article_url = f"{comments.host.origin}/posts/third.html"
    await comments.post(site, article_url, "keyed by URL")
    await comments.post(site, article_url, "keyed by URL too")
    spans = "".join(
        [
            '<p><span id=a data-threadline-count data-page="first">?</span></p>',
            '<p><span id=b data-threadline-count data-page="second" data-one="{n} comment"'
            ' data-other="{n} comments">?</span></p>',
            '<p><span id=c data-threadline-count data-page="nobody-here">?</span></p>',
            # The same page twice is asked for once and filled twice.
            '<p><span id=d data-threadline-count data-page=" first ">?</span></p>',
            '<p><span id=e data-threadline-count data-url="/posts/third.html?utm_source=x#c">?'
            "</span></p>",
            '<p><span id=f data-threadline-count data-page="<img src=x onerror=alert(1)>">?</span>',
        ]
    )
    url = comments.host.page(
        f"{site}-index.html",
        spans + f'<script src="{comments.base}/count.js" data-site="{site}" async></script>',
    )
    ctx = await new_context()
    page = await ctx.new_page()
    asked: list[Request] = []
    page.on("request", lambda r: asked.append(r) if "/counts" in r.url else None)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(url)
    await expect(page.locator("#a")).to_have_text("3")
    await expect(page.locator("#b")).to_have_text("1 comment")
    await expect(page.locator("#c")).to_have_text("0")
    await expect(page.locator("#d")).to_have_text("3")
    await expect(page.locator("#e")).to_have_text("2")
    await expect(page.locator("#f")).to_have_text("0")
    assert await page.locator("img").count() == 0
    assert [r.method for r in asked] == ["GET"], [r.url for r in asked]
    assert not errors


async def test_counts_follow_new_comments_on_reload(comments: Comments, new_context: Any) -> None:
    site = await comments.site()
    url = comments.host.page(
        f"{site}-index2.html",
        '<span id=n data-threadline-count data-page="p" data-other="{n} '
        f'comments">?</span><script src="{comments.base}/count.js" '
        f'data-site="{site}" async></script>',
    )
    ctx = await new_context()
    page = await open_page(ctx, url)
    await expect(page.locator("#n")).to_have_text("0 comments")
    await comments.post(site, "p", "hello")
    await comments.post(site, "p", "again")
    await page.reload()
    await expect(page.locator("#n")).to_have_text("2 comments")
