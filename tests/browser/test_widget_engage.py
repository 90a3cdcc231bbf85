"""The widget's second chunk (issue #17) in real Chromium on a page of another site:
reactions live between browsers and remembered (an author token's and a session's), emoji
and no reactions, the sort control, pins, links to a comment (even a reply on the fifth
page), every new control by keyboard alone and through axe-core; and the widget still
working when the chunk cannot load."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from server.core.context import command_services
from server.core.site_admin import reaction_set
from server.core.sites import update_site
from tests.browser.test_accessibility import DARK_PAGE, PHONE, audit
from tests.browser.test_widget_sso import SsoSite, sso_site
from tests.support.browser import Comments, open_page, seed_comment
from tests.support.config import SECRET

pytestmark = pytest.mark.e2e

# Readers the API tests speak for: each from a network of its own (one reaction per network
# and comment for anonymous readers). The browsers read from 127.0.0.1: the comments they react
# to are seeded from another network (an anonymous reader on the author's network counts as
# the author).
_networks = itertools.count(1)


# What the host page's clipboard receives: the page is served over plain http, where there is
# no navigator.clipboard, so the widget uses the copy command, which fires this event.
COPIED = """addEventListener("copy", (event) => {
    window.copied = event.clipboardData.getData("text/plain");
});"""


def widget(page: Page) -> Locator:
    return page.locator("#threadline")


def item(page: Page, text: str) -> Locator:
    """The comment (top-level or reply) whose own body is ``text``."""
    return (
        widget(page)
        .locator("li.comment")
        .filter(
            has=page.locator(
                ":scope > article > p.body", has_text=re.compile(f"^{re.escape(text)}$")
            )
        )
    )


def own_actions(comment: Locator) -> Locator:
    return comment.locator(":scope > article > .actions")


def upvote(comment: Locator) -> Locator:
    return own_actions(comment).get_by_role("button", name=re.compile(r"^Upvote, \d+$"))


async def react(comments: Comments, site: str, comment_id: int, reaction: str) -> None:
    """A reaction from a new anonymous reader on a network of their own, through the API."""
    number = next(_networks)
    r = await comments.http.put(
        f"{comments.server.url}/api/v1/sites/{site}/comments/{comment_id}/reaction",
        json={"reaction": reaction},
        headers={"X-Forwarded-For": f"198.{51 + number // 250}.{number % 250}.9"},
    )
    assert r.status_code == 200, r.text


async def listing(comments: Comments, site: str, page: str, **query: str) -> dict[str, Any]:
    r = await comments.http.get(
        f"{comments.server.url}/api/v1/sites/{site}/thread", params={"page": page, **query}
    )
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def until_best_ranks_first(comments: Comments, site: str, page: str, body: str) -> None:
    """Until the server's ranking counts the reactions just given: its first page ranks as
    of a moment a little in the past, so writes in flight settle first."""
    deadline = time.monotonic() + 15
    while True:
        data = await listing(comments, site, page, order="best")
        if data["comments"] and data["comments"][0]["body"] == body:
            return
        assert time.monotonic() < deadline, "the ranking never counted the reactions"
        await asyncio.sleep(0.25)


async def tab_to(page: Page, target: Locator, *, backwards: bool = False, limit: int = 80) -> None:
    """Press Tab (or Shift+Tab) until the keyboard focus is on ``target``."""
    for _ in range(limit):
        if await target.evaluate("(node) => node.getRootNode().activeElement === node"):
            return
        await page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError("Tab never reached the control")


async def test_a_reaction_in_one_browser_updates_the_count_in_another_and_is_remembered(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    await seed_comment(comments.store, site, "react", "React to me", name="Chen")
    url = comments.article(site, "react")
    a = await open_page(await new_context(), url)
    b = await open_page(await new_context(), url)
    await expect(b.get_by_text("Active: 2")).to_be_visible()
    a_item, b_item = item(a, "React to me"), item(b, "React to me")
    await expect(upvote(a_item)).to_have_accessible_name("Upvote, 0")
    await expect(upvote(a_item)).to_have_attribute("aria-pressed", "false")
    await expect(
        own_actions(b_item).get_by_role("button", name="Downvote, 0", exact=True)
    ).to_be_visible()

    await upvote(a_item).click()
    await expect(upvote(a_item)).to_have_accessible_name("Upvote, 1")
    await expect(upvote(a_item)).to_have_attribute("aria-pressed", "true")
    await expect(upvote(a_item)).to_have_text("\u25b2 1")
    # B sees the count live, and does not see it as its own choice.
    await expect(upvote(b_item)).to_have_accessible_name("Upvote, 1")
    await expect(upvote(b_item)).to_have_attribute("aria-pressed", "false")
    # The first reaction made A an author: its token kept as a post's is.
    stored = await a.evaluate(f"JSON.parse(localStorage.getItem('threadline:{site}'))")
    assert stored["t"]

    # After a reload, A's own choice is still pressed (read back from reactions/mine).
    await a.reload()
    a_item = item(a, "React to me")
    await expect(upvote(a_item)).to_have_accessible_name("Upvote, 1")
    await expect(upvote(a_item)).to_have_attribute("aria-pressed", "true")

    # Another choice replaces the first; pressing it again takes it back.
    down = own_actions(a_item).get_by_role("button", name=re.compile(r"^Downvote"))
    await down.click()
    await expect(down).to_have_attribute("aria-pressed", "true")
    await expect(upvote(a_item)).to_have_attribute("aria-pressed", "false")
    await expect(upvote(b_item)).to_have_accessible_name("Upvote, 0")
    await expect(
        own_actions(b_item).get_by_role("button", name="Downvote, 1", exact=True)
    ).to_be_visible()
    await down.click()
    await expect(down).to_have_attribute("aria-pressed", "false")
    await expect(
        own_actions(b_item).get_by_role("button", name="Downvote, 0", exact=True)
    ).to_be_visible()
    assert a.errors == [] and b.errors == []  # type: ignore[attr-defined]


async def site_offering(comments: Comments, kind: str, emoji: str = "") -> str:
    """A new site with these reactions, set before any request reads (and caches) the site."""
    site = await comments.site()
    services = command_services(comments.store, SECRET)
    await update_site(services, site, reactions=reaction_set(kind, emoji))
    return site


async def test_emoji_reactions_show_as_chosen_and_reactions_off_show_none(
    comments: Comments, new_context: Any
) -> None:
    emoji = await site_offering(comments, "emoji", "\U0001f44d \u2764\ufe0f")
    await seed_comment(comments.store, emoji, "emoji", "Lovely", name="Chen")
    page = await open_page(await new_context(), comments.article(emoji, "emoji"))
    group = own_actions(item(page, "Lovely")).get_by_role("group", name="Reactions")
    await expect(group.get_by_role("button")).to_have_count(2)
    await group.get_by_role("button", name="React with \u2764\ufe0f, 0", exact=True).click()
    heart = group.get_by_role("button", name="React with \u2764\ufe0f, 1", exact=True)
    await expect(heart).to_have_attribute("aria-pressed", "true")
    await expect(heart).to_have_text("\u2764\ufe0f 1")
    await expect(
        group.get_by_role("button", name="React with \U0001f44d, 0", exact=True)
    ).to_have_attribute("aria-pressed", "false")

    off = await site_offering(comments, "off")
    await comments.post(off, "off", "Just words", name="Chen")
    page = await open_page(await new_context(), comments.article(off, "off"))
    actions = own_actions(item(page, "Just words"))
    await expect(actions.get_by_role("button", name="Copy link")).to_be_visible()
    await expect(actions.get_by_role("group", name="Reactions")).to_have_count(0)
    # Without reactions every comment would score the same: no Best to choose.
    sort = widget(page).get_by_role("group", name="Sort by")
    await expect(sort.get_by_role("button", name="Oldest")).to_be_visible()
    await expect(sort.get_by_role("button", name="Best")).to_be_hidden()


async def test_a_signed_in_readers_reaction_is_theirs_after_a_reload(
    comments: Comments, new_context: Any
) -> None:
    site = await sso_site(comments)
    await seed_comment(comments.store, site.id, "signed", "Signed readers react too")
    token = site.token("u-react", "Reacting Reader")
    page = await open_page(await new_context(), site.page("signed", sso_token=token))
    await expect(page.get_by_text("Posting as Reacting Reader")).to_be_visible()
    liked = item(page, "Signed readers react too")
    await upvote(liked).click()
    await expect(upvote(liked)).to_have_attribute("aria-pressed", "true")
    # The session, not an author token, reacted: none was issued.
    stored = await page.evaluate(f"localStorage.getItem('threadline:{site.id}')")
    assert stored is None or '"t"' not in stored
    await page.reload()
    await expect(page.get_by_text("Posting as Reacting Reader")).to_be_visible()
    await expect(upvote(item(page, "Signed readers react too"))).to_have_attribute(
        "aria-pressed", "true"
    )


async def test_a_reaction_to_ones_own_comment_is_refused_in_words(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    a = await open_page(await new_context(), comments.article(site, "own"))
    await a.get_by_label("Comment").fill("My own words")
    await a.get_by_role("button", name="Submit").click()
    mine = item(a, "My own words")
    await upvote(mine).click()
    await expect(widget(a).locator("div.status")).to_have_text(
        "You cannot react to your own comment."
    )
    await expect(upvote(mine)).to_have_accessible_name("Upvote, 0")
    await expect(upvote(mine)).to_have_attribute("aria-pressed", "false")


async def test_the_sort_control_reorders_is_remembered_and_pages_under_best(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    ids = [
        await seed_comment(comments.store, site, "sort", f"Comment {i}", ago=1000 - i)
        for i in range(25)
    ]
    # Best: 3 of 3 up, then 2 of 2, then 1 up and 1 down; the rest tie at no reactions and
    # rank newest first.
    for _ in range(3):
        await react(comments, site, ids[3], "up")
    for _ in range(2):
        await react(comments, site, ids[10], "up")
    await react(comments, site, ids[0], "up")
    await react(comments, site, ids[0], "down")
    best = [3, 10, 0, *(i for i in reversed(range(25)) if i not in (3, 10, 0))]
    await until_best_ranks_first(comments, site, "sort", "Comment 3")

    page = await open_page(await new_context(), comments.article(site, "sort"))
    bodies = widget(page).locator("ol.list > li.comment > article > p.body")
    sort = widget(page).get_by_role("group", name="Sort by")
    newest = sort.get_by_role("button", name="Newest")
    await expect(newest).to_have_attribute("aria-pressed", "true")
    await expect(bodies).to_have_count(20)
    assert await bodies.all_inner_texts() == [f"Comment {i}" for i in reversed(range(5, 25))]

    await sort.get_by_role("button", name="Oldest").click()
    await expect(sort.get_by_role("button", name="Oldest")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(bodies.first).to_have_text("Comment 0")
    await expect(bodies).to_have_count(20)
    assert await bodies.all_inner_texts() == [f"Comment {i}" for i in range(20)]

    await sort.get_by_role("button", name="Best").click()
    await expect(bodies.first).to_have_text("Comment 3")
    await expect(bodies).to_have_count(20)
    more = widget(page).get_by_role("button", name="Load More Comments")
    await more.click()
    await expect(bodies).to_have_count(25)
    await expect(more).to_be_hidden()
    assert await bodies.all_inner_texts() == [f"Comment {i}" for i in best]
    # Remembered for the site: a reload (and another page of it) opens in best order.
    await page.reload()
    await expect(widget(page).get_by_role("button", name="Best")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(bodies).to_have_count(20)
    assert await bodies.all_inner_texts() == [f"Comment {i}" for i in best[:20]]
    # Under best a new comment does not push in: it waits behind "1 new comment".
    await comments.post(site, "sort", "Newly arrived", name="Dana")
    waiting = widget(page).get_by_role("button", name="1 new comment")
    await expect(waiting).to_be_visible()
    await expect(bodies.first).to_have_text("Comment 3")
    await waiting.click()
    await expect(bodies.first).to_have_text("Newly arrived")
    assert page.errors == []  # type: ignore[attr-defined]


async def test_a_link_to_a_reply_on_the_fifth_page_opens_scrolls_and_highlights_it(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    # 90 comments, newest first, 20 a page: the ten oldest are page 5.
    ids = [
        await seed_comment(comments.store, site, "deep", f"Comment {i}", ago=10_000 - i)
        for i in range(90)
    ]
    replies = [
        await seed_comment(comments.store, site, "deep", f"Reply {j}", ago=5_000 - j, parent=ids[4])
        for j in range(6)
    ]
    target = replies[4]  # beyond the three replies a listing shows first
    url = comments.article(site, "deep") + f"#threadline-comment-{target}"
    page = await open_page(await new_context(viewport={"width": 900, "height": 700}), url)
    linked = widget(page).locator(f"#threadline-comment-{target}")
    await expect(linked).to_have_class(re.compile(r"\btarget\b"))
    await expect(linked).to_contain_text("Reply 4")
    await expect(linked).to_be_in_viewport()
    assert await linked.evaluate("(node) => node.getRootNode().activeElement === node")
    # The thread from its start through that page: every comment of the five pages, once.
    await expect(widget(page).locator("ol.list > li.comment")).to_have_count(90)
    reply_bodies = item(page, "Comment 4").locator("ol.replies > li.comment > article > p.body")
    assert (await reply_bodies.all_inner_texts())[:5] == [f"Reply {j}" for j in range(5)]
    # And its Copy link gives the host page's address with that comment's link.
    await page.evaluate(COPIED)
    await own_actions(item(page, "Reply 4")).get_by_role("button", name="Copy link").click()
    await expect(widget(page).locator("div.status")).to_have_text("Link copied")
    assert await page.evaluate("window.copied") == url
    assert page.errors == []  # type: ignore[attr-defined]


async def moderator_page(site: SsoSite, new_context: Any, page: str) -> Page:
    token = site.token("u-mod", "Editor", role="moderator")
    moderator = await open_page(await new_context(), site.page(page, sso_token=token))
    await expect(moderator.get_by_text("Posting as Editor")).to_be_visible()
    return moderator


async def test_a_moderator_pins_and_unpins_and_every_open_page_sees_it(
    comments: Comments, new_context: Any
) -> None:
    site = await sso_site(comments, moderators=True)
    for i in range(5):
        await seed_comment(comments.store, site.id, "pins", f"Comment {i}", ago=100 - i)
    moderator = await moderator_page(site, new_context, "pins")
    reader = await open_page(await new_context(), site.page("pins"))
    await expect(reader.get_by_text("Active: 2")).to_be_visible()
    # Only the moderator has Pin buttons.
    await expect(widget(reader).get_by_role("button", name="Pin", exact=True)).to_have_count(0)
    await expect(widget(moderator).get_by_role("button", name="Pin", exact=True)).to_have_count(5)
    bodies = {
        page: widget(page).locator("ol.list > li.comment > article > p.body")
        for page in (moderator, reader)
    }
    await expect(bodies[reader].first).to_have_text("Comment 4")

    await own_actions(item(moderator, "Comment 0")).get_by_role("button", name="Pin").click()
    for page in (moderator, reader):
        await expect(bodies[page].first).to_have_text("Comment 0")
        await expect(item(page, "Comment 0").locator(".pin-label")).to_have_text("Pinned")
    await expect(
        own_actions(item(moderator, "Comment 0")).get_by_role("button", name="Unpin")
    ).to_be_focused()
    # A reload lists the pinned comment first, as the listing has it.
    await reader.reload()
    await expect(bodies[reader].first).to_have_text("Comment 0")
    await expect(item(reader, "Comment 0").locator(".pin-label")).to_have_text("Pinned")

    # At most three on a page: the fourth is refused in words.
    for i in (1, 2):
        await own_actions(item(moderator, f"Comment {i}")).get_by_role("button", name="Pin").click()
        await expect(item(reader, f"Comment {i}").locator(".pin-label")).to_have_text("Pinned")
    assert await bodies[reader].all_inner_texts() == [f"Comment {i}" for i in (2, 1, 0, 4, 3)]
    await own_actions(item(moderator, "Comment 3")).get_by_role("button", name="Pin").click()
    await expect(widget(moderator).locator("div.status")).to_have_text(
        "At most 3 comments can be pinned on a page."
    )
    await expect(item(moderator, "Comment 3").locator(".pin-label")).to_have_count(0)

    # Unpinned by keyboard: the label goes, live, everywhere.
    unpin = own_actions(item(moderator, "Comment 0")).get_by_role("button", name="Unpin")
    await unpin.focus()
    await moderator.keyboard.press("Enter")
    for page in (moderator, reader):
        await expect(item(page, "Comment 0").locator(".pin-label")).to_have_count(0)
    assert moderator.errors == [] and reader.errors == []  # type: ignore[attr-defined]


async def test_every_new_control_works_from_the_keyboard_alone(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    for i in range(2):
        await seed_comment(comments.store, site, "keys", f"Keyboard {i}", name="Chen", ago=10 - i)
    ctx = await new_context()
    await ctx.add_init_script(COPIED)
    page = await open_page(ctx, comments.article(site, "keys"))
    first = item(page, "Keyboard 1")
    await expect(upvote(first)).to_be_visible()
    await page.locator("h1").click()  # the keyboard starts from the host page

    oldest = widget(page).get_by_role("button", name="Oldest")
    await tab_to(page, oldest)
    await page.keyboard.press("Enter")
    await expect(oldest).to_have_attribute("aria-pressed", "true")
    bodies = widget(page).locator("ol.list > li.comment > article > p.body")
    await expect(bodies.first).to_have_text("Keyboard 0")
    newest = widget(page).get_by_role("button", name="Newest")
    await tab_to(page, newest, backwards=True)
    await page.keyboard.press("Space")
    await expect(bodies.first).to_have_text("Keyboard 1")

    copy = own_actions(first).get_by_role("button", name="Copy link")
    await tab_to(page, copy)
    await page.keyboard.press("Enter")
    await expect(widget(page).locator("div.status")).to_have_text("Link copied")
    copied = await page.evaluate("window.copied")
    comment_id = (await first.locator(":scope > article").get_attribute("id") or "").split("-")[-1]
    assert copied == f"{page.url.split('#')[0]}#threadline-comment-{comment_id}"
    await tab_to(page, upvote(first))
    await page.keyboard.press("Space")
    await expect(upvote(first)).to_have_attribute("aria-pressed", "true")
    await expect(upvote(first)).to_be_focused()  # the count changed in place
    await page.keyboard.press("Enter")
    await expect(upvote(first)).to_have_attribute("aria-pressed", "false")
    down = own_actions(first).get_by_role("button", name=re.compile(r"^Downvote"))
    await tab_to(page, down)
    await page.keyboard.press("Enter")
    await expect(down).to_have_attribute("aria-pressed", "true")

    # Each control shows where the keyboard is.
    outline = await down.evaluate("(node) => getComputedStyle(node).outlineStyle")
    assert outline == "solid"
    assert page.errors == []  # type: ignore[attr-defined]


async def test_the_widget_works_without_its_second_chunk(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    await comments.post(site, "nochunk", "Shown without the chunk", name="Chen")
    ctx = await new_context()
    await ctx.route("**/widget-engage.js*", lambda route: route.fulfill(status=503, body="down"))
    page = await ctx.new_page()
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(comments.article(site, "nochunk"))
    await expect(page.get_by_text("Shown without the chunk")).to_be_visible()
    await page.get_by_label("Comment").fill("Posted without the chunk")
    await page.get_by_role("button", name="Submit").click()
    await expect(page.get_by_text("Thank you! Your submission has been received!")).to_be_visible()
    await expect(item(page, "Posted without the chunk")).to_be_visible()
    await expect(page.get_by_text("Active: 1")).to_be_visible()
    await expect(widget(page).get_by_role("button", name="Copy link")).to_have_count(0)
    await expect(widget(page).get_by_role("group", name="Sort by")).to_have_count(0)
    said = [line for line in warnings if "no reactions, sorting or links" in line]
    assert len(said) == 1, warnings
    assert errors == []


async def test_a_link_to_a_comment_no_longer_there_opens_the_thread_as_usual(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    await comments.post(site, "gone", "Still here", name="Chen")
    url = comments.article(site, "gone") + "#threadline-comment-987654321"
    page = await open_page(await new_context(), url)
    await expect(item(page, "Still here")).to_be_visible()
    await expect(widget(page).locator("article.target")).to_have_count(0)
    await expect(widget(page).get_by_role("heading", name="1 comment")).to_be_visible()
    assert page.errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("theme", "context"),
    [("light", {}), ("dark", {}), ("dark", PHONE)],
    ids=["light", "dark", "375px-dark"],
)
async def test_the_engagement_controls_pass_the_accessibility_audit(
    comments: Comments, new_context: Any, theme: str, context: dict[str, Any]
) -> None:
    """Reactions (one pressed), the sort control, a pinned comment, a moderator's Pin and
    Unpin, and a linked comment highlighted: no serious or critical axe-core violation."""
    site = await sso_site(comments, moderators=True)
    ids = [
        await seed_comment(comments.store, site.id, "audit", f"Comment {i}", ago=100 - i)
        for i in range(3)
    ]
    token = site.token("u-mod", "Editor", role="moderator")
    url = comments.host.page(
        f"{site.id}-audit-{theme}-{len(context)}.html",
        f'<div id="threadline" data-sso-token="{token}"></div>'
        + comments.embed(site.id, "audit", theme=theme),
        head=DARK_PAGE if theme == "dark" else "",
    )
    page = await open_page(await new_context(**context), f"{url}#threadline-comment-{ids[1]}")
    await expect(page.get_by_text("Posting as Editor")).to_be_visible()
    await expect(widget(page).locator("article.target")).to_contain_text("Comment 1")
    await own_actions(item(page, "Comment 0")).get_by_role("button", name="Pin").click()
    await expect(item(page, "Comment 0").locator(".pin-label")).to_have_text("Pinned")
    await upvote(item(page, "Comment 2")).click()
    await expect(upvote(item(page, "Comment 2"))).to_have_attribute("aria-pressed", "true")
    await audit(page, f"engagement controls ({theme}, {context.get('viewport', 'desktop')})")
