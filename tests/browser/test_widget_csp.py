"""The widget styled and working under strict Content-Security-Policies: the demo page as
`make run` serves it, and a host page that allows no inline style (the widget's second chunk,
/widget-engage.js and /widget-notify.js, included)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.support.browser import DEMO_AVATAR_URL, Comments, Demo

pytestmark = pytest.mark.e2e


def csp_reports(page: Page) -> list[str]:
    """Console lines in which Chromium reports a blocked resource."""
    lines: list[str] = []
    page.on(
        "console", lambda m: lines.append(m.text) if "Content Security Policy" in m.text else None
    )
    return lines


async def looks(page: Page) -> dict[str, Any]:
    """Computed styles only the widget's own stylesheet gives (the browser's defaults differ
    in every one), and whether the honeypot takes any room or is exposed."""
    result: dict[str, Any] = await page.evaluate("""() => {
        const root = document.querySelector('#threadline').shadowRoot;
        const css = (sel, prop) => getComputedStyle(root.querySelector(sel))[prop];
        const hp = root.querySelector('input[name=website]');
        const box = hp.getBoundingClientRect();
        return {
            padding: css('.threadline', 'paddingTop'),
            font: css('.threadline', 'fontFamily').startsWith('system-ui'),
            heading: css('h2', 'fontWeight'),
            submit: css('button.primary', 'backgroundColor'),
            radius: css('textarea', 'borderRadius'),
            itemBorder: css('li.comment', 'borderTopStyle'),
            honeypot: [hp.hidden, hp.getAttribute('aria-hidden'), hp.tabIndex,
                       hp.autocomplete, getComputedStyle(hp).display, box.width, box.height],
        };
    }""")
    return result


STYLED = {
    "padding": "16px",
    "font": True,
    "heading": "650",
    "submit": "rgb(37, 99, 235)",
    "radius": "6px",
    "itemBorder": "solid",
    "honeypot": [True, "true", -1, "off", "none", 0, 0],
}


async def test_demo_page_as_make_run_serves_it_is_styled_and_hides_the_honeypot(
    demo: Demo, new_context: Any
) -> None:
    async with httpx.AsyncClient() as http:
        served = await http.get(demo.url)
    policy = served.headers["content-security-policy"]
    assert "style-src 'self';" in policy and "unsafe-inline" not in policy
    await demo.conversation()
    ctx = await new_context(viewport={"width": 900, "height": 1200}, color_scheme="light")
    page = await ctx.new_page()
    blocked = csp_reports(page)
    await page.goto(demo.url)
    await expect(page.get_by_text("Does this work behind a load balancer?")).to_be_visible()
    assert await looks(page) == STYLED
    hp = page.locator("#threadline input[name=website]")
    await expect(hp).to_be_hidden()
    # Outside the accessibility tree: only the comment box and the name are text boxes.
    assert await page.get_by_role("textbox").count() == 2
    # The policy admits images from the demo server only: the signed-in reader's https
    # picture is refused (nothing else is), and the widget draws their initials instead.
    await expect(page.locator("#threadline li.comment span.avatar")).to_have_count(5)
    assert [line for line in blocked if DEMO_AVATAR_URL not in line] == []


async def test_widget_renders_and_works_under_a_strict_host_policy(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    await comments.post(site, "strict", "Seen through a strict policy", name="Chen")
    base = comments.base
    ws = base.replace("http://", "ws://")
    # README's policy for a host page: Threadline's origin for the script and its requests,
    # nothing for styles.
    policy = (
        f"default-src 'self'; style-src 'self'; script-src 'self' {base}; "
        f"connect-src 'self' {base} {ws}"
    )
    url = comments.host.page(
        "strict.html",
        '<div id="threadline"></div>' + comments.embed(site, "strict"),
        headers={"Content-Security-Policy": policy},
    )
    ctx = await new_context(viewport={"width": 900, "height": 1200})
    page = await ctx.new_page()
    blocked = csp_reports(page)
    await page.goto(url)
    await expect(page.get_by_text("Seen through a strict policy")).to_be_visible()
    assert await looks(page) == STYLED
    await expect(page.get_by_text("Active: 1")).to_be_visible()  # the websocket is allowed
    # The second chunk, an ES module from Threadline's origin, loads and styles itself too:
    # the sort control, and Copy link and reactions under the comment.
    sort = page.get_by_role("group", name="Sort by")
    await expect(sort.get_by_role("button", name="Newest")).to_have_attribute(
        "aria-pressed", "true"
    )
    seen = page.locator("li.comment", has_text="Seen through a strict policy")
    await expect(seen.get_by_role("button", name="Copy link")).to_be_visible()
    assert await sort.evaluate("(node) => getComputedStyle(node).display") == "flex"
    await page.get_by_label("Comment").fill("Posted under a strict policy")
    await page.get_by_role("button", name="Submit").click()
    await expect(page.get_by_text("Thank you! Your submission has been received!")).to_be_visible()
    await expect(
        page.locator("li.comment", has_text="Posted under a strict policy")
    ).to_be_visible()
    # The post gave the reader a token: the third chunk (the notification centre), imported
    # by the second from the same origin, loads and styles itself as well.
    bell = page.get_by_role("button", name="Notifications")
    await expect(bell).to_be_visible()
    # (inline-flex in a flex row computes as flex; the widget's own sheet alone gives block)
    assert await bell.evaluate("(node) => getComputedStyle(node).display") == "flex"
    assert blocked == []
    # and the policy really was in force: an inline style is refused
    await page.evaluate(
        "document.head.append(Object.assign(document.createElement('style'),"
        " {textContent: 'body{color: rgb(1, 2, 3)}'}))"
    )
    assert await page.evaluate("getComputedStyle(document.body).color") != "rgb(1, 2, 3)"
