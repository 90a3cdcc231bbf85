"""Two real browsers on one article: comments, typing and presence arrive live."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Locator, expect

from tests.support.browser import Comments, open_page

pytestmark = pytest.mark.e2e


async def _top(locator: Locator) -> float:
    box = await locator.bounding_box()
    assert box is not None
    return box["y"]


async def test_comment_typed_in_a_appears_in_b_without_reload(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    url = comments.article(site, "live")
    a = await open_page(await new_context(), url)
    b = await open_page(await new_context(), url)
    await expect(a.get_by_text("Active: 2")).to_be_visible()
    await expect(b.get_by_text("Active: 2")).to_be_visible()
    await a.get_by_label("Comment").fill("Hello from A")
    await a.get_by_role("button", name="Submit").click()
    await expect(b.get_by_text("Hello from A")).to_be_visible()
    await expect(b.get_by_role("heading", name="1 comment", exact=True)).to_be_visible()
    await expect(b.get_by_text("Be the first to leave a comment.")).to_be_hidden()


async def test_typing_in_a_shows_in_b_and_clears(comments: Comments, new_context: Any) -> None:
    site = await comments.site()
    url = comments.article(site, "typing")
    a = await open_page(await new_context(), url)
    b = await open_page(await new_context(), url)
    await expect(b.get_by_text("Active: 2")).to_be_visible()
    await a.get_by_label("Comment").press_sequentially("I am writing", delay=20)
    await expect(b.get_by_text("Someone is typing...")).to_be_visible()
    await expect(a.get_by_text("Someone is typing...")).to_be_hidden()
    await expect(b.get_by_text("Someone is typing...")).to_be_hidden(timeout=10000)


async def test_active_count_follows_readers_coming_and_going(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    url = comments.article(site, "presence")
    a = await open_page(await new_context(), url)
    await expect(a.get_by_text("Active: 1")).to_be_visible()
    b_ctx = await new_context()
    await open_page(b_ctx, url)
    await expect(a.get_by_text("Active: 2")).to_be_visible()
    await b_ctx.close()
    await expect(a.get_by_text("Active: 1")).to_be_visible()


async def test_new_comments_wait_behind_a_button_while_reading_below(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    for i in range(20):
        await comments.post(site, "scroll", f"Long comment {i}. " + "Lorem ipsum. " * 30)
    url = comments.article(site, "scroll")
    page = await open_page(await new_context(viewport={"width": 800, "height": 600}), url)
    await expect(page.locator("ol.list > li.c")).to_have_count(20)
    reading = page.locator("li.c", has_text="Long comment 5.")
    await reading.scroll_into_view_if_needed()
    before = await _top(reading)
    await comments.post(site, "scroll", "Fresh one")
    await comments.post(site, "scroll", "Fresher one")
    button = page.get_by_role("button", name="2 new comments")
    await expect(button).to_be_visible()
    moved = await _top(reading) - before
    assert abs(moved) < 2  # nothing moved under the reader (subpixel rounding aside)
    await expect(page.get_by_text("Fresh one")).to_have_count(0)
    await button.click()
    await expect(page.get_by_text("Fresher one")).to_be_visible()
    await expect(button).to_be_hidden()


async def test_comments_missed_while_offline_arrive_on_reconnect(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    url = comments.article(site, "offline-live")
    ctx = await new_context()
    page = await open_page(ctx, url)
    await expect(page.get_by_text("Active: 1")).to_be_visible()
    await ctx.set_offline(True)
    await page.evaluate("window.dispatchEvent(new Event('offline'))")
    for i in range(3):
        await comments.post(site, "offline-live", f"Missed {i}")
    await ctx.set_offline(False)
    for i in range(3):
        await expect(page.get_by_text(f"Missed {i}")).to_be_visible(timeout=40000)
    await expect(page.get_by_role("heading", name="3 comments")).to_be_visible()


async def test_socket_opens_only_when_the_widget_comes_near_the_viewport(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    body = (
        '<div style="height:6000px">A very long article</div><div id="threadline"></div>'
        + comments.embed(site, "lazy")
    )
    ctx = await new_context(viewport={"width": 800, "height": 600})
    page = await ctx.new_page()
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    await page.goto(comments.host.page("lazy.html", body))
    await expect(
        page.locator("#threadline").get_by_text("Be the first to leave a comment.")
    ).to_be_attached()
    await page.wait_for_timeout(1000)
    assert sockets == []  # far below the fold: no live connection yet
    await page.locator("#threadline").scroll_into_view_if_needed()
    await expect(page.get_by_text("Active: 1")).to_be_visible()
    assert len(sockets) == 1


# Counts the widget's keepalive timers and keeps its sockets reachable from the test.
COUNT_KEEPALIVES = """
window.__sockets = [];
window.__keepalives = 0;
const Socket = window.WebSocket;
window.WebSocket = class extends Socket {
  constructor(...args) { super(...args); window.__sockets.push(this); }
};
const every = window.setInterval;
window.setInterval = (fn, ms, ...rest) => {
  if (ms === 25000) window.__keepalives += 1;
  return every(fn, ms, ...rest);
};
"""


async def test_a_reset_reloads_the_thread_without_doubling_the_widgets_watchers(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    url = comments.article(site, "reset")
    await comments.post(site, "reset", "Before the reset")
    ctx = await new_context()
    await ctx.add_init_script(COUNT_KEEPALIVES)
    page = await open_page(ctx, url)
    await expect(page.get_by_text("Active: 1")).to_be_visible()
    assert await page.evaluate("window.__keepalives") == 1
    # The server says the reader is too far behind: reload the thread, then resume.
    await page.evaluate("""() => window.__sockets.at(-1).onmessage({data: JSON.stringify(
        {type: "reset", page: "reset", seq: 0, data: {reason: "too far behind: reload"}})})""")
    await expect(page.get_by_text("Before the reset")).to_be_visible()
    await expect(page.get_by_text("Active: 1")).to_be_visible()
    assert await page.evaluate("window.__keepalives") == 1
    assert page.errors == []  # type: ignore[attr-defined]
