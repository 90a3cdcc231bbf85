"""The widget in real Chromium on a page of another site: every state and its text."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import Page, Route, expect

from server.core.authors import AuthorTokens
from server.core.context import Services
from server.core.decisions import Action, decide_comment
from server.core.sites import SiteDirectory
from tests.support.browser import Comments, Quiet, open_page, seed_comment
from tests.support.config import SECRET

pytestmark = pytest.mark.e2e


async def seed(
    comments: Comments,
    site: str,
    page: str,
    body: str,
    *,
    ago: float = 0,
    moderator: bool = False,
    name: str | None = None,
    parent: int | None = None,
) -> int:
    """A comment created `ago` seconds in the past (or by a moderator), through core."""
    return await seed_comment(
        comments.store, site, page, body, ago=ago, moderator=moderator, name=name, parent=parent
    )


def widget(page: Page) -> Any:
    return page.locator("#threadline")


async def test_first_paint_says_loading_then_the_empty_state(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    url = comments.article(site, "empty")
    ctx = await new_context()
    page = await ctx.new_page()
    release = asyncio.Event()

    async def slow(route: Route) -> None:
        await release.wait()
        await route.continue_()

    await page.route(re.compile(r".*/thread\?.*"), slow)
    await page.goto(url)
    await expect(page.get_by_text("Loading")).to_be_visible()
    release.set()
    await expect(page.get_by_text("Be the first to leave a comment.")).to_be_visible()
    await expect(page.get_by_role("heading", name="0 comments")).to_be_visible()
    await expect(page.get_by_text("Posting as No Name")).to_be_visible()
    await expect(page.get_by_text("Active: 1")).to_be_visible()


async def test_post_shows_thanks_and_the_comment_and_counts(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    page = await open_page(await new_context(), comments.article(site, "post"))
    await page.get_by_label("Comment").fill("My first comment")
    await page.get_by_role("button", name="Submit").click()
    await expect(page.get_by_text("Thank you! Your submission has been received!")).to_be_visible()
    await expect(page.get_by_text("My first comment")).to_be_visible()
    await expect(page.get_by_role("heading", name="1 comment", exact=True)).to_be_visible()
    item = page.locator("li.c").first
    await expect(item.get_by_text("No Name")).to_be_visible()
    await expect(item.get_by_text("just now")).to_be_visible()
    await expect(page.get_by_label("Comment")).to_have_value("")
    assert page.errors == []  # type: ignore[attr-defined]


async def test_set_name_is_used_and_remembered(comments: Comments, new_context: Any) -> None:
    site = await comments.site()
    ctx = await new_context()
    url = comments.article(site, "named")
    page = await open_page(ctx, url)
    await page.get_by_label("Name").fill("Ada")
    await page.get_by_role("button", name="Set").click()
    await expect(page.get_by_text("Posting as Ada")).to_be_visible()
    await page.get_by_label("Comment").fill("Signed comment")
    await page.get_by_role("button", name="Submit").click()
    await expect(page.locator("li.c .nm").first).to_have_text("Ada")
    again = await open_page(ctx, url)
    await expect(again.get_by_text("Posting as Ada")).to_be_visible()


async def test_relative_times_badge_and_counts(comments: Comments, new_context: Any) -> None:
    site = await comments.site()
    await seed(comments, site, "times", "Old news", ago=4 * 365 * 86400 + 86400)
    for i in range(9):
        await seed(comments, site, "times", f"filler {i}", ago=3600)
    await seed(comments, site, "times", "Recent", ago=5 * 60 + 5)
    await seed(comments, site, "times", "Official word", moderator=True, name="Mod Squad")
    page = await open_page(await new_context(), comments.article(site, "times"))
    await expect(page.get_by_role("heading", name="12 comments")).to_be_visible()
    await expect(page.get_by_text("4 years ago")).to_be_visible()
    await expect(page.get_by_text("5 minutes ago")).to_be_visible()
    mod = page.locator("li.c", has_text="Official word")
    await expect(mod.get_by_text("Moderator", exact=True)).to_be_visible()
    await expect(mod.get_by_text("Mod Squad")).to_be_visible()


async def test_author_edits_and_deletes_inside_the_window(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    page = await open_page(await new_context(), comments.article(site, "edit"))
    page.on("dialog", lambda d: asyncio.ensure_future(d.accept()))
    await page.get_by_label("Comment").fill("Tpyo here")
    await page.get_by_role("button", name="Submit").click()
    item = page.locator("li.c", has_text="Tpyo here")
    await item.get_by_role("button", name="Edit").click()
    box = page.get_by_role("textbox", name="Edit")
    await expect(box).to_have_value("Tpyo here")
    await box.fill("Typo fixed")
    await page.get_by_role("button", name="Save").click()
    fixed = page.locator("li.c", has_text="Typo fixed")
    await expect(fixed.get_by_text("(Edited)")).to_be_visible()
    await fixed.get_by_role("button", name="Delete").click()
    await expect(page.get_by_text("Typo fixed")).to_have_count(0)
    await expect(page.get_by_text("Be the first to leave a comment.")).to_be_visible()


async def test_others_comments_have_no_edit_or_delete(comments: Comments, new_context: Any) -> None:
    site = await comments.site()
    await comments.post(site, "others", "Someone else's words")
    page = await open_page(await new_context(), comments.article(site, "others"))
    item = page.locator("li.c", has_text="Someone else's words")
    await expect(item.get_by_role("button", name="Reply")).to_be_visible()
    await expect(item.get_by_role("button", name="Edit")).to_have_count(0)
    await expect(item.get_by_role("button", name="Delete")).to_have_count(0)


async def test_network_failure_shows_the_error_and_keeps_the_draft(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    page = await open_page(await new_context(), comments.article(site, "offline"))
    await page.route(re.compile(r".*/comments$"), lambda route: route.abort())
    await page.get_by_label("Comment").fill("Words I do not want to lose")
    await page.get_by_role("button", name="Submit").click()
    await expect(page.get_by_role("status")).to_have_text("The comment server cannot be reached.")
    await expect(page.get_by_label("Comment")).to_have_value("Words I do not want to lose")
    await expect(page.get_by_role("button", name="Submit")).to_be_enabled()
    await page.unroute(re.compile(r".*/comments$"))
    await page.get_by_role("button", name="Submit").click()  # the retry goes through
    await expect(page.get_by_text("Thank you! Your submission has been received!")).to_be_visible()


async def test_server_errors_and_rate_limits_show_the_error(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    page = await open_page(await new_context(), comments.article(site, "limited"))

    def answer(status: int) -> Any:
        async def handler(route: Route) -> None:
            await route.fulfill(
                status=status,
                content_type="application/json",
                headers={"Access-Control-Allow-Origin": comments.host.origin},
                body='{"error":{"code":"x","message":"no"}}',
            )

        return handler

    # An error the widget has no words for; a 429 says when to try again
    # (test_widget_errors.py), even without Retry-After.
    reasons = {
        500: "Oops! Something went wrong while submitting the form.",
        429: "Too many comments for now: try again in 60 seconds.",
    }
    for status, reason in reasons.items():
        await page.route(re.compile(r".*/comments$"), answer(status))
        await page.get_by_label("Comment").fill(f"try {status}")
        await page.get_by_role("button", name="Submit").click()
        await expect(page.get_by_role("status")).to_have_text(reason)
        await expect(page.get_by_label("Comment")).to_have_value(f"try {status}")
        await page.unroute(re.compile(r".*/comments$"))


async def test_load_more_comments_and_replies_fetch_everything(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    ids = [
        await seed(comments, site, "long", f"Comment number {i}", ago=1000 - i) for i in range(45)
    ]
    for j in range(12):
        await seed(comments, site, "long", f"Reply number {j}", ago=500 - j, parent=ids[-1])
    page = await open_page(await new_context(), comments.article(site, "long"))
    await expect(page.get_by_role("heading", name="57 comments")).to_be_visible()
    top = page.locator("ol.list > li.c")
    await expect(top).to_have_count(20)
    more = page.get_by_role("button", name="Load More Comments")
    await more.click()
    await expect(top).to_have_count(40)
    await more.click()
    await expect(top).to_have_count(45)
    await expect(more).to_be_hidden()
    replies = page.locator("li.c", has_text="Comment number 44").locator("ol.replies > li.c")
    await expect(replies).to_have_count(3)
    await page.get_by_role("button", name="Load More Replies").click()
    await expect(replies).to_have_count(12)
    await expect(page.get_by_role("button", name="Load More Replies")).to_be_hidden()
    texts = await page.locator("ol.list > li.c > article .body").all_inner_texts()
    assert texts == [f"Comment number {i}" for i in reversed(range(45))]
    reply_texts = await replies.locator(".body").all_inner_texts()
    assert reply_texts == [f"Reply number {j}" for j in range(12)]


async def test_reply_form_posts_a_reply_under_its_parent(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    await comments.post(site, "thread", "A question?", name="Q")
    page = await open_page(await new_context(), comments.article(site, "thread"))
    parent = page.locator("li.c", has_text="A question?")
    await parent.get_by_role("button", name="Reply").click()
    await page.get_by_label("Reply to Q").fill("An answer.")
    await page.get_by_label("Reply to Q").press("Control+Enter")
    await expect(parent.locator("ol.replies").get_by_text("An answer.")).to_be_visible()
    await expect(page.get_by_role("heading", name="2 comments")).to_be_visible()


async def test_pending_comment_then_approved_reaches_everyone(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site(moderation="all")
    url = comments.article(site, "held")
    author = await open_page(await new_context(), url)
    reader = await open_page(await new_context(), url)
    await expect(reader.get_by_text("Active: 2")).to_be_visible()
    await author.get_by_label("Comment").fill("Please approve me")
    await author.get_by_role("button", name="Submit").click()
    pending = "Your comment will appear once approved by a moderator."
    await expect(author.locator("li.c").get_by_text(pending)).to_be_visible()
    await expect(reader.get_by_text("Please approve me")).to_have_count(0)
    async with comments.store.read() as tx:
        from sqlalchemy import select

        from server.store.schema import comments as table

        cid = (
            await tx.conn.execute(select(table.c.id).where(table.c.body == "Please approve me"))
        ).scalar_one()
    quiet = Quiet()
    svc = Services(
        store=comments.store,
        publisher=quiet,
        limiter=quiet,
        tokens=AuthorTokens(SECRET),
        secret=SECRET,
    )
    await decide_comment(
        svc, await SiteDirectory(comments.store).get(site), cid, Action.APPROVE, moderator=None
    )
    await expect(reader.get_by_text("Please approve me")).to_be_visible(timeout=15000)
    await expect(author.locator("li.c").get_by_text(pending)).to_have_count(0, timeout=15000)
    await expect(author.locator("li.c", has_text="Please approve me")).to_be_visible()


async def test_reply_to_a_reply_says_whom_it_answers_and_links_there(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    top = await seed(comments, site, "context", "Does it scale?", name="Marco", ago=600)
    await seed(
        comments, site, "context", "It does, through Redis.", name="Chen", parent=top, ago=500
    )
    for i in range(2):
        await seed(comments, site, "context", f"Filler reply {i}", parent=top, ago=400 - i)
    page = await open_page(
        await new_context(viewport={"width": 800, "height": 500}), comments.article(site, "context")
    )
    parent = page.locator("li.c", has_text="Does it scale?")
    # A reply to a reply: posted from the widget, it says whom it answers.
    await (
        parent.locator("li.c", has_text="It does, through Redis.")
        .get_by_role("button", name="Reply")
        .click()
    )
    await page.get_by_label("Reply to Chen").fill("Which Redis, though?")
    await page.get_by_role("button", name="Submit").last.click()
    mine = parent.locator("ol.replies > li.c", has_text="Which Redis, though?")
    link = mine.get_by_role("link", name="in reply to Chen")
    await expect(link).to_be_visible()
    # A reply to the top comment needs no such line: it is nested under it.
    first = parent.locator("ol.replies > li.c", has_text="It does, through Redis.")
    await expect(first.get_by_role("link")).to_have_count(0)
    # The link leads to the comment it answers, without touching the host page's URL.
    await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    await link.click()
    target = first.locator("article")
    await expect(target).to_be_focused()
    await expect(target).to_be_in_viewport()
    assert "#" not in page.url
    # And on another reader's page, as the thread lists it.
    other = await open_page(await new_context(), comments.article(site, "context"))
    await other.get_by_role("button", name="Load More Replies").click()
    await expect(other.get_by_role("link", name="in reply to Chen")).to_be_visible()
