"""The widget's finer points: the new-comments button in view, Escape, Flag with Undo, touch
targets on phones, the reader's own comments marked, the name row, the dark theme."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Dialog, Page, expect

from tests.support.browser import Comments, open_page

pytestmark = pytest.mark.e2e


async def flags_of(comments: Comments, body: str) -> int:
    from sqlalchemy import select

    from server.store.schema import comments as table

    async with comments.store.read() as tx:
        n: int = (
            await tx.conn.execute(select(table.c.flags).where(table.c.body == body))
        ).scalar_one()
    return n


async def test_new_comments_button_stays_in_view_while_scrolled_down(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    for i in range(15):
        await comments.post(site, "sticky", f"Older comment {i}\n" + "A line of text.\n" * 3)
    page = await open_page(
        await new_context(viewport={"width": 800, "height": 600}), comments.article(site, "sticky")
    )
    await expect(page.get_by_text("Active: 1")).to_be_visible()
    await page.get_by_text("Older comment 2").scroll_into_view_if_needed()
    await comments.post(site, "sticky", "Fresh from elsewhere")
    button = page.get_by_role("button", name="1 new comment")
    await expect(button).to_be_visible()
    await expect(button).to_be_in_viewport()
    await page.mouse.wheel(0, 400)  # reading on: it stays in view
    await expect(button).to_be_in_viewport()
    await button.click()
    await expect(page.get_by_text("Fresh from elsewhere")).to_be_in_viewport()


async def test_escape_closes_reply_and_edit_forms_and_editing_hides_the_actions(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    page = await open_page(await new_context(), comments.article(site, "escape"))
    await page.get_by_label("Comment").fill("Mine to edit")
    await page.get_by_role("button", name="Submit").click()
    item = page.locator("li.c", has_text="Mine to edit")
    await item.get_by_role("button", name="Reply").click()
    reply_box = page.get_by_label("Reply to No Name")
    await expect(reply_box).to_be_focused()
    await reply_box.fill("never mind")
    await page.keyboard.press("Escape")
    await expect(reply_box).to_have_count(0)
    await expect(item.get_by_role("button", name="Reply")).to_be_focused()
    await item.get_by_role("button", name="Edit").click()
    edit_box = page.get_by_role("textbox", name="Edit")
    await expect(edit_box).to_be_focused()
    for name in ("Reply", "Edit", "Delete"):  # the row is gone while editing
        await expect(item.get_by_role("button", name=name, exact=True)).to_have_count(0)
    await edit_box.fill("changed my mind")
    await page.keyboard.press("Escape")
    await expect(edit_box).to_have_count(0)
    await expect(item.locator(".body")).to_have_text("Mine to edit")
    for name in ("Reply", "Edit", "Delete"):
        await expect(item.get_by_role("button", name=name, exact=True)).to_be_visible()


async def test_flag_asks_first_and_can_be_undone(comments: Comments, new_context: Any) -> None:
    site = await comments.site()
    body = f"Flag me maybe {site}"
    await comments.post(site, "flag", body)
    page = await open_page(await new_context(), comments.article(site, "flag"))
    item = page.locator("li.c", has_text=body)
    asked: list[str] = []

    def answer(accept: bool) -> None:
        async def on_dialog(dialog: Dialog) -> None:
            asked.append(dialog.message)
            await (dialog.accept() if accept else dialog.dismiss())

        page.once(
            "dialog",
            on_dialog,
        )

    answer(False)
    await item.get_by_role("button", name="Flag").click()
    assert asked == ["Flag this comment for the moderators to review?"]
    await expect(item.get_by_role("button", name="Flag")).to_be_enabled()
    assert await flags_of(comments, body) == 0
    answer(True)
    await item.get_by_role("button", name="Flag").click()
    await expect(item.get_by_text("Flagged", exact=True)).to_be_visible()
    undo = item.get_by_role("button", name="Undo")
    await expect(undo).to_be_visible()
    assert await flags_of(comments, body) == 1
    await undo.click()  # no question: undoing is harmless
    await expect(item.get_by_role("button", name="Flag")).to_be_visible()
    await expect(item.get_by_text("Flagged", exact=True)).to_be_hidden()
    assert await flags_of(comments, body) == 0
    assert len(asked) == 2


async def test_touch_targets_are_at_least_44px_on_phones(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    first = await comments.post(site, "touch", "Tap targets", name="Kim")
    await comments.post(site, "touch", "Reply", parent=first["comment"]["id"])
    answer = await comments.post(
        site, "touch", "A reply to a reply", name="Lee", parent=first["comment"]["id"]
    )
    assert answer["comment"]["reply_to"] == first["comment"]["id"]

    async def sizes(page: Page) -> list[list[Any]]:
        found: list[list[Any]] = await page.evaluate("""() => {
            const root = document.querySelector('#threadline').shadowRoot;
            return [...root.querySelectorAll('button, input, textarea, a.rt')]
              .filter((e) => e.getClientRects().length)
              .map((e) => { const r = e.getBoundingClientRect();
                            return [e.textContent || e.tagName, r.width, r.height]; });
        }""")
        return found

    phone = await open_page(
        await new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True),
        comments.article(site, "touch"),
    )
    await expect(phone.get_by_text("Tap targets")).to_be_visible()
    # Layout rounds to fractions of a pixel (43.9999 for a 44 px box): compare rounded.
    small = [s for s in await sizes(phone) if round(s[1]) < 44 or round(s[2]) < 44]
    assert small == []
    desk = await open_page(await new_context(), comments.article(site, "touch"))
    await expect(desk.get_by_text("Tap targets")).to_be_visible()
    assert [s for s in await sizes(desk) if s[2] < 44]  # a mouse needs no such room


async def test_the_readers_own_comments_are_marked(comments: Comments, new_context: Any) -> None:
    site = await comments.site()
    await comments.post(site, "mine", "Somebody else's", name="Sam")
    ctx = await new_context()
    url = comments.article(site, "mine")
    page = await open_page(ctx, url)
    await page.get_by_label("Comment").fill("My own words")
    await page.get_by_role("button", name="Submit").click()
    mine = page.locator("li.c", has_text="My own words")
    await expect(mine.get_by_text("You", exact=True)).to_be_visible()
    theirs = page.locator("li.c", has_text="Somebody else's")
    await expect(theirs.get_by_text("You", exact=True)).to_have_count(0)
    # Still marked on the next visit, long after the edit window: and not to anyone else.
    await page.evaluate("""() => { const k = Object.keys(localStorage)[0];
        const me = JSON.parse(localStorage[k]);
        for (const id in me.m) me.m[id] -= 30 * 86400e3;
        localStorage[k] = JSON.stringify(me); }""")
    again = await open_page(ctx, url)
    mine = again.locator("li.c", has_text="My own words")
    await expect(mine.get_by_text("You", exact=True)).to_be_visible()
    await expect(mine.get_by_role("button", name="Edit")).to_have_count(0)
    other = await open_page(await new_context(), url)
    await expect(other.get_by_text("My own words")).to_be_visible()
    await expect(other.get_by_text("You", exact=True)).to_have_count(0)


async def test_the_name_row_sets_the_name_apart_from_its_field(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    page = await open_page(
        await new_context(viewport={"width": 900, "height": 700}), comments.article(site, "names")
    )
    await expect(page.get_by_text("Posting as No Name")).to_be_visible()
    row = await page.evaluate("""() => {
        const who = document.querySelector('#threadline').shadowRoot.querySelector('.who');
        const [as, label] = [who.querySelector('span'), who.querySelector('label')];
        return {name: getComputedStyle(as.querySelector('b')).fontWeight,
                gap: label.getBoundingClientRect().left - as.getBoundingClientRect().right};
    }""")
    assert int(row["name"]) >= 600  # the name stands out from "Posting as"
    assert row["gap"] >= 40  # and "Name [field] Set" stands apart from it


async def test_dark_theme_draws_on_the_page_and_auto_dark_on_its_own(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    ctx = await new_context(color_scheme="dark")
    background = (
        "getComputedStyle(document.querySelector('#threadline').shadowRoot"
        ".querySelector('.tl')).backgroundColor"
    )
    dark = await open_page(ctx, comments.article(site, "dark", theme="dark"))
    await expect(dark.get_by_text("Be the first to leave a comment.")).to_be_visible()
    assert await dark.evaluate(background) == "rgba(0, 0, 0, 0)"
    auto = await open_page(ctx, comments.article(site, "auto", "auto.html"))
    await expect(auto.get_by_text("Be the first to leave a comment.")).to_be_visible()
    assert await auto.evaluate(background) == "rgb(17, 24, 39)"  # any page stays readable
