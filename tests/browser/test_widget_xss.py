"""Stored XSS: classic payloads as names and bodies render as text, never as markup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.support.browser import Comments, open_page

pytestmark = pytest.mark.e2e
INSPECT = (Path(__file__).parent / "inspect_dom.js").read_text()

SET = "window.__xss=1"
PAYLOADS = [
    f"<script>{SET}</script>",
    f'<img src=x onerror="{SET}">',
    f"<svg onload={SET}>",
    f"<svg><animate onbegin={SET} attributeName=x dur=1s>",
    f'"><script>{SET}</script>',
    f"'><img src=x onerror={SET}>",
    f"</textarea><script>{SET}</script>",
    f"</style><script>{SET}</script>",
    f'<iframe src="javascript:{SET}"></iframe>',
    f'<a href="javascript:{SET}">click</a>',
    f"javascript:{SET}",
    f" javascript:{SET}",
    f"data:text/html,<script>{SET}</script>",
    f"<body onload={SET}>",
    f"<input autofocus onfocus={SET}>",
    f"<details open ontoggle={SET}>",
    f"<video><source onerror={SET}></video>",
    f'<object data="javascript:{SET}"></object>',
    '<base href="javascript:/">',
    f'<meta http-equiv=refresh content="0;url=javascript:{SET}">',
    f"<form><button formaction=javascript:{SET}>x</button></form>",
    f"<marquee onstart={SET}>",
    f"<math><mtext><table><mglyph><style><img src=x onerror={SET}>",
    f'<noscript><p title="</noscript><img src=x onerror={SET}>">',
    "jaVasCript:/*-/*`/*\\`/*'/*\"/**/(/* */oNcliCk=alert() )//%0D%0A%0d%0a//</stYle/</titLe/"
    "</teXtarEa/</scRipt/--!>\\x3csVg/<sVg/oNloAd=alert()//>\\x3e",
    f'http://example.test/"onmouseover="{SET}',
    f"https://evil.test/<img src=x onerror={SET}>",
    "http://x.test/?q=<script>alert(1)</script>",
    "[click me](javascript:alert(1))",
    "{{constructor.constructor('window.__xss=1')()}}",
    "${alert(1)}",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    f"<img src=x:alert(alt) onerror=eval(src) alt=0> {'A' * 70000}"[:5000],
    # Right-to-left text around markup (bidi overrides such as U+202E are refused at the API).
    "שלום\u200cעולם <b>bold?</b> مرحبا",  # noqa: RUF001
    f"<style>@import 'javascript:{SET}';</style>",
]


async def test_payloads_render_as_text_and_run_nothing(
    comments: Comments, new_context: Any
) -> None:
    assert len(PAYLOADS) >= 30
    site = await comments.site()
    for payload in PAYLOADS:
        await comments.post(site, "xss", payload, name=payload[:50])
    ctx = await new_context()
    dialogs: list[str] = []
    page = await open_page(ctx, comments.article(site, "xss"))
    page.on("dialog", lambda d: dialogs.append(d.message))
    more = page.get_by_role("button", name="Load More Comments")
    await expect(page.locator("ol.list > li.c")).to_have_count(20)
    await more.click()
    await expect(page.locator("ol.list > li.c")).to_have_count(len(PAYLOADS))
    await page.mouse.move(10, 10)
    await page.wait_for_timeout(500)
    report = await page.evaluate(INSPECT)
    assert report["bad"] == []
    assert report["xss"] is None
    assert dialogs == []
    assert sorted(report["texts"]) == sorted(p.strip() for p in PAYLOADS)
