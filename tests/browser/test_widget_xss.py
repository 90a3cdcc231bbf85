"""Stored XSS: classic payloads as names and bodies render as text, never as markup."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Route, expect

from tests.support.browser import Comments, open_page, signed_in_post
from tests.support.sso import claims, enable_sso, hs256_key

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
    await expect(page.locator("ol.list > li.comment")).to_have_count(20)
    await more.click()
    await expect(page.locator("ol.list > li.comment")).to_have_count(len(PAYLOADS))
    await page.mouse.move(10, 10)
    await page.wait_for_timeout(500)
    report = await page.evaluate(INSPECT)
    assert report["bad"] == []
    assert report["xss"] is None
    assert dialogs == []
    assert sorted(report["texts"]) == sorted(p.strip() for p in PAYLOADS)


HOSTILE_AVATARS = [
    f"javascript:{SET}",
    f" javascript:{SET}",
    f"JaVaScRiPt:{SET}",
    f"data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' onload='{SET}'/>",
    f"data:text/html,<script>{SET}</script>",
    "http://avatars.example/plain-http.svg",
    "//avatars.example/scheme-relative.svg",
    "/same-origin-relative.svg",
    " https://avatars.example/leading-space.svg",
    f'"><img src=x onerror="{SET}">',
    "blob:https://avatars.example/0",
    "https://avatars.example/fine.svg",
    f'https://avatars.example/quoted.svg" onerror="{SET}',
]
# What https://avatars.example answers (Playwright answers for it): a picture that loads.
PICTURE = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28">'
    '<rect width="28" height="28"/></svg>'
)
BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
HOSTILE_NAMES = [
    f"<img src=x onerror={SET}>",
    f"<script>{SET}</script>",
    "\u202eevil\u202c reversed",
    "\u2067Ada\u2069 \u200fisolated",
    f'"><svg onload={SET}>',
    "javascript:alert(1)",
]


async def test_hostile_name_and_avatar_claims_render_safely_and_load_only_https(
    comments: Comments, new_context: Any
) -> None:
    """Claims as a compromised server or site backend could send them (the server refuses
    all but https avatars itself): the widget shows them as text, draws an avatar for every
    non-https one, and never loads one."""
    site = await comments.site()
    for i in range(len(HOSTILE_AVATARS)):
        await comments.post(site, "claims", f"Claimed {i}")
    ctx = await new_context()
    requests: list[str] = []
    ctx.on("request", lambda r: requests.append(r.url))

    async def hostile(route: Route) -> None:
        # Playwright fetches from outside Chromium, where comments.test does not resolve.
        response = await route.fetch(url=route.request.url.replace("comments.test", "127.0.0.1"))
        data = await response.json()
        for i, comment in enumerate(data["comments"]):
            comment.update(
                verified=True,
                avatar=HOSTILE_AVATARS[i],
                author_key=f"{i:012x}",
                name=HOSTILE_NAMES[i % len(HOSTILE_NAMES)],
            )
        await route.fulfill(response=response, json=data)

    async def image(route: Route) -> None:
        await route.fulfill(status=200, content_type="image/svg+xml", body=PICTURE)

    await ctx.route(re.compile(r".*/thread\?.*"), hostile)
    await ctx.route("https://avatars.example/**", image)
    page = await open_page(ctx, comments.article(site, "claims"))
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await expect(page.locator("ol.list > li.comment")).to_have_count(len(HOSTILE_AVATARS))
    await page.mouse.move(10, 10)
    await page.wait_for_timeout(500)
    report = await page.evaluate(INSPECT)
    assert report["bad"] == []
    assert report["xss"] is None
    assert dialogs == []
    root = page.locator("#threadline")
    sources = await root.locator("img").evaluate_all(
        "(all) => all.map((image) => image.getAttribute('src'))"
    )
    assert sorted(sources) == sorted(a for a in HOSTILE_AVATARS if a.startswith("https:"))
    assert await root.locator("li.comment span.avatar").count() == len(HOSTILE_AVATARS) - 2
    names = await root.locator("li.comment .author").all_text_contents()
    assert sorted(set(names)) == sorted(HOSTILE_NAMES)
    assert await root.get_by_role("img", name="Verified").count() == len(HOSTILE_AVATARS)
    loaded = [url for url in requests if "avatars.example" in url or url.endswith(".svg")]
    assert all(url.startswith("https://avatars.example/") for url in loaded), loaded
    assert not any(
        url.startswith(("http:", "data:", "javascript:", "blob:"))
        and ("avatars.example" in url or "svg" in url)
        for url in requests
    )


async def test_hostile_claims_in_site_tokens_are_refused_or_shown_as_text(
    comments: Comments, new_context: Any
) -> None:
    """The same claims in tokens a site's backend signed, through the real server: names
    with markup are kept and shown as text; non-https avatars and bidi controls are refused
    at the exchange, and the widget says why and stays as it was (signed out, nothing
    loaded)."""
    site = await comments.site()
    key = hs256_key(secret=secrets.token_urlsafe(32))
    await enable_sso(comments.store, site, key)
    markup = [name for name in HOSTILE_NAMES if not BIDI.search(name)]
    for i, name in enumerate(markup):
        token = key.sign(claims(site, f"markup-{i}", name, avatar=f"https://avatars.example/{i}"))
        await signed_in_post(comments.http, comments.server.url, site, token, "tokens", f"By {i}")
    refused = [claims(site, "bad", "Evil", avatar=avatar) for avatar in HOSTILE_AVATARS[:8]]
    refused += [claims(site, "bad", name) for name in HOSTILE_NAMES if BIDI.search(name)]
    for i, bad in enumerate(refused):
        url = comments.host.page(
            f"{site}-refused-{i}.html",
            f'<div id="threadline" data-sso-token="{key.sign(bad)}"></div>'
            + comments.embed(site, "tokens"),
        )
        await _refused_sign_in(await new_context(), url, markup)


async def _refused_sign_in(ctx: BrowserContext, url: str, names: list[str]) -> None:
    requests: list[str] = []
    ctx.on("request", lambda r: requests.append(r.url))
    await ctx.route("https://avatars.example/**", lambda route: route.abort())
    page = await open_page(ctx, url)
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await expect(page.get_by_role("status")).to_have_text(re.compile(r"^(avatar|name)\b"))
    await expect(page.get_by_label("Name", exact=True)).to_be_visible()  # still signed out
    report = await page.evaluate(INSPECT)
    assert report["bad"] == [] and report["xss"] is None and dialogs == []
    assert sorted(await page.locator("#threadline li .author").all_text_contents()) == sorted(names)
    sources = await page.locator("#threadline img").evaluate_all(
        "(all) => all.map((image) => image.getAttribute('src'))"
    )
    assert all(source.startswith("https://avatars.example/") for source in sources)
    assert not [url for url in requests if url.startswith(("http://avatars", "data:"))]
    await ctx.close()
