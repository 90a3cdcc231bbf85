"""The widget is isolated from its host page and the host page from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.support.browser import DEMO_AVATAR_SVG, DEMO_AVATAR_URL, Comments, Demo, open_page

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]

HOSTILE = """<style>
* { all: unset }
* { font-size: 48px !important }
textarea, button { display: none !important }
* { color: red !important; line-height: 3 !important; font-family: serif !important }
</style>"""


async def _styles(page: Page) -> dict[str, Any]:
    """What a reader would notice: sizes, fonts, colours, visibility of the key controls."""
    result: dict[str, Any] = await page.evaluate("""() => {
        const root = document.querySelector('#threadline').shadowRoot;
        const pick = (sel) => {
            const e = root.querySelector(sel); const s = getComputedStyle(e);
            const r = e.getBoundingClientRect();
            return [s.fontSize, s.fontFamily, s.color, s.display, s.backgroundColor,
                    Math.round(r.width), Math.round(r.height)];
        };
        return {section: pick('.threadline'), textarea: pick('textarea'),
                submit: pick('button.primary'), item: pick('li.comment'),
                body: pick('li.comment .body'),
                heading: pick('h2')};
    }""")
    return result


async def test_hostile_host_css_changes_nothing(comments: Comments, new_context: Any) -> None:
    site = await comments.site()
    await comments.post(site, "css", "Styled by nobody but us")
    ctx = await new_context(viewport={"width": 900, "height": 900})
    # The host page decides the container's width; everything inside is the widget's.
    body = '<div id="threadline" style="width:700px"></div>' + comments.embed(site, "css")
    calm = await open_page(ctx, comments.host.page("calm.html", body))
    wild = await open_page(ctx, comments.host.page("wild.html", body, HOSTILE))
    for page in (calm, wild):
        await expect(page.get_by_text("Styled by nobody but us")).to_be_visible()
    assert await _styles(wild) == await _styles(calm)
    shot_calm = await calm.locator("#threadline").screenshot(animations="disabled")
    shot_wild = await wild.locator("#threadline").screenshot(animations="disabled")
    assert shot_calm == shot_wild
    # and it still works
    await wild.get_by_label("Comment").fill("Posted from the hostile page")
    await wild.get_by_role("button", name="Submit").click()
    await expect(wild.get_by_text("Posted from the hostile page")).to_be_visible()
    await expect(calm.get_by_text("Posted from the hostile page")).to_be_visible()


async def test_widget_css_does_not_leak_into_the_host(comments: Comments, new_context: Any) -> None:
    site = await comments.site()
    page = await open_page(await new_context(), comments.article(site, "leak"))
    await expect(page.get_by_text("Be the first to leave a comment.")).to_be_visible()
    h1 = await page.evaluate("getComputedStyle(document.querySelector('h1')).fontWeight")
    body_font = await page.evaluate("getComputedStyle(document.body).fontFamily")
    bare = await open_page(await new_context(), comments.host.page("bare.html", "<h1>x</h1>"))
    assert h1 == await bare.evaluate("getComputedStyle(document.querySelector('h1')).fontWeight")
    assert body_font == await bare.evaluate("getComputedStyle(document.body).fontFamily")


async def test_two_widgets_on_one_page_work_independently(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    await comments.post(site, "left", "Only on the left")
    body = (
        '<div id="a"></div><div id="b"></div>'
        + comments.embed(site, "left", target="#a")
        + comments.embed(site, "right", target="#b")
    )
    page = await open_page(await new_context(), comments.host.page("two.html", body))
    left, right = page.locator("#a"), page.locator("#b")
    await expect(left.get_by_text("Only on the left")).to_be_visible()
    await expect(right.get_by_text("Be the first to leave a comment.")).to_be_visible()
    await right.get_by_label("Comment").fill("Only on the right")
    await right.get_by_role("button", name="Submit").click()
    await expect(right.get_by_text("Only on the right")).to_be_visible()
    await expect(left.get_by_text("Only on the right")).to_have_count(0)
    await expect(left.get_by_role("heading", name="1 comment", exact=True)).to_be_visible()


async def test_phone_width_has_no_horizontal_overflow(comments: Comments, new_context: Any) -> None:
    site = await comments.site()
    await comments.post(site, "phone", "A long unbroken word: " + "x" * 300, name="Phone")
    ctx = await new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = await open_page(ctx, comments.article(site, "phone"))
    await expect(page.get_by_text("Phone")).to_be_visible()
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


async def test_everything_works_by_keyboard(comments: Comments, new_context: Any) -> None:
    site = await comments.site()
    page = await open_page(await new_context(), comments.article(site, "keys"))
    await expect(page.get_by_text("Be the first to leave a comment.")).to_be_visible()
    await page.get_by_label("Name").focus()
    await page.keyboard.type("Kim")
    await page.keyboard.press("Tab")  # to Set
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("Posting as Kim")).to_be_visible()
    await page.keyboard.press("Tab")  # to the comment box
    await page.keyboard.type("Typed without a mouse")
    await page.keyboard.press("Tab")  # to Submit
    await page.keyboard.press("Enter")
    await expect(page.locator("li.comment", has_text="Typed without a mouse")).to_be_visible()
    status = page.get_by_role("status")
    await expect(status).to_have_text("Thank you! Your submission has been received!")
    assert await status.get_attribute("aria-live") == "polite"


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_screenshot_for_the_readme(demo: Demo, new_context: Any, scheme: str) -> None:
    """README's pictures are the demo page as `make run` serves it: what a newcomer sees."""
    await demo.conversation()
    # The demo page's policy admits images from itself only (img-src 'self' data:): the
    # signed-in reader's picture, from an https host of their site, needs one that admits it.
    ctx = await new_context(
        viewport={"width": 720, "height": 900},
        color_scheme=scheme,
        device_scale_factor=1,
        bypass_csp=True,
    )
    await ctx.route(
        DEMO_AVATAR_URL,
        lambda route: route.fulfill(content_type="image/svg+xml", body=DEMO_AVATAR_SVG),
    )
    page = await open_page(ctx, demo.url)
    await expect(page.get_by_text("Active: 1")).to_be_visible()
    await expect(page.get_by_text("Even with websockets? Nice.")).to_be_visible()
    picture = page.locator("img.avatar")
    await expect(picture).to_be_visible()
    assert await picture.evaluate("(image) => image.complete && image.naturalWidth > 0")
    box = page.get_by_role("textbox", name="Comment")
    await box.press_sequentially("Loving the live updates", delay=5)
    shot = ROOT / "docs" / "screenshots" / f"widget-{scheme}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    await page.locator("#comments").screenshot(path=str(shot), animations="disabled")
    assert shot.stat().st_size > 10_000
