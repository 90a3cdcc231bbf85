"""The widget's engagement features where a review found them failing, in real Chromium
against a real server: links the server refuses (a crafted id, too many links from one
network) and a stored order it does not know still open the thread; a link more than 10
pages in leads back to the start; a reader typing under a pinned comment keeps the focus when
a comment arrives live; answers to requests made before a reload (a sort, a link) are dropped;
an open draft is not thrown away by a link; Copy link leaves the address's query out; a
failed Load More says why, and an expired snapshot loads the thread again."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from playwright.async_api import Page, Request, Route, expect

from server.core import pins
from server.core.context import command_services
from server.core.cursors import Cursor
from server.core.models import Order
from server.core.sites import SiteDirectory
from server.core.threads import RANKED_PER_MINUTE
from tests.browser.test_accessibility import audit
from tests.browser.test_widget_engage import COPIED, item, moderator_page, own_actions, widget
from tests.browser.test_widget_sso import sso_site
from tests.support.browser import Comments, open_page, seed_comment
from tests.support.config import SECRET

pytestmark = pytest.mark.e2e

TWENTY_ONE_HOURS_MS = 21 * 3_600_000


def thread_requests(page: Page) -> list[str]:
    """The thread listings the widget asks for, as they go out."""
    asked: list[str] = []
    page.on(
        "request", lambda request: asked.append(request.url) if "/thread?" in request.url else None
    )
    return asked


async def spend_ranked_requests(comments: Comments, site: str, page: str, comment_id: int) -> None:
    """Every permalink and later best page this network may ask for in a minute (the browser
    reads from the same address as these requests)."""
    url = f"{comments.server.url}/api/v1/sites/{site}/thread"
    for _ in range(RANKED_PER_MINUTE):
        r = await comments.http.get(url, params={"page": page, "around": str(comment_id)})
        assert r.status_code == 200, r.text
    r = await comments.http.get(url, params={"page": page, "around": str(comment_id)})
    assert r.status_code == 429, r.text


async def settled(page: Page) -> None:
    """Until the page has run what a response just delivered (its tasks and microtasks)."""
    await page.evaluate("() => new Promise((done) => setTimeout(done, 50))")


@pytest.mark.parametrize("linked", ["0", "4611686018427387904", "9" * 25])
async def test_a_link_with_an_id_the_server_refuses_opens_the_thread_as_usual(
    comments: Comments, new_context: Any, linked: str
) -> None:
    site = await comments.site()
    await comments.post(site, "crafted", "Still here", name="Chen")
    page = await (await new_context()).new_page()
    asked = thread_requests(page)
    await page.goto(comments.article(site, "crafted") + "#threadline-comment-" + linked)
    await expect(widget(page).get_by_role("heading", name="1 comment")).to_be_visible()
    await expect(item(page, "Still here")).to_be_visible()
    assert [url for url in asked if "around=" in url] == []


async def test_a_link_refused_for_too_many_links_opens_the_thread_as_usual(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    posted = await comments.post(site, "limited", "Still here", name="Chen")
    comment_id = posted["comment"]["id"]
    await spend_ranked_requests(comments, site, "limited", comment_id)
    page = await (await new_context()).new_page()
    asked = thread_requests(page)
    await page.goto(comments.article(site, "limited") + f"#threadline-comment-{comment_id}")
    await expect(widget(page).get_by_role("heading", name="1 comment")).to_be_visible()
    await expect(item(page, "Still here")).to_be_visible()
    # Once with the link (refused), then the thread without it: no retrying the refused one.
    assert ["around=" in url for url in asked] == [True, False]


async def test_a_stored_order_the_server_does_not_know_is_ignored(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    await comments.post(site, "order", "Still here", name="Chen")
    ctx = await new_context()
    await ctx.add_init_script(
        f"localStorage.setItem('threadline:{site}', JSON.stringify({{o: 'top'}}))"
    )
    page = await open_page(ctx, comments.article(site, "order"))
    await expect(widget(page).get_by_role("heading", name="1 comment")).to_be_visible()
    await expect(widget(page).get_by_role("button", name="Newest")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert page.errors == []  # type: ignore[attr-defined]


async def test_a_link_more_than_ten_pages_in_leads_back_to_the_start(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    # 205 comments, newest first, 20 a page: the five oldest are page 11, past the 10 pages
    # a link lists from the start.
    ids = [
        await seed_comment(comments.store, site, "far", f"Comment {i}", ago=10_000 - i)
        for i in range(205)
    ]
    url = comments.article(site, "far") + f"#threadline-comment-{ids[2]}"
    page = await open_page(await new_context(viewport={"width": 900, "height": 700}), url)
    bodies = widget(page).locator("ol.list > li.comment > article > p.body")
    target = widget(page).locator("article.target")
    await expect(target).to_contain_text("Comment 2")
    assert await bodies.all_inner_texts() == [f"Comment {i}" for i in reversed(range(5))]
    earlier = widget(page).get_by_role("button", name="Show earlier comments")
    await expect(earlier).to_be_visible()
    await audit(page, "a link more than ten pages in")

    # By keyboard: the thread from its start, the keyboard on its first comment.
    await earlier.focus()
    await page.keyboard.press("Enter")
    await expect(bodies.first).to_have_text("Comment 204")
    await expect(bodies).to_have_count(20)
    await expect(earlier).to_be_hidden()
    await expect(target).to_have_count(0)
    assert await bodies.first.evaluate(
        "(body) => body.getRootNode().activeElement === body.parentElement"
    )
    # Loading more until the linked comment comes: outlined and focused again. (Patient:
    # a long list on a busy machine.)
    more = widget(page).get_by_role("button", name="Load More Comments")
    for shown in range(40, 221, 20):
        await more.click()
        await expect(bodies).to_have_count(min(shown, 205), timeout=15_000)
    await expect(target).to_contain_text("Comment 2")
    await expect(target).to_be_in_viewport()
    assert await target.evaluate("(node) => node.getRootNode().activeElement === node")
    assert page.errors == []  # type: ignore[attr-defined]


async def test_a_link_to_a_reply_more_than_ten_reply_pages_in_leads_back_to_the_first_replies(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    parent = await seed_comment(comments.store, site, "deep", "Parent", ago=10_000)
    # The first 3 replies, then 20 a page: reply 204 is on the 11th reply page.
    replies = [
        await seed_comment(comments.store, site, "deep", f"Reply {j}", ago=9_000 - j, parent=parent)
        for j in range(205)
    ]
    url = comments.article(site, "deep") + f"#threadline-comment-{replies[204]}"
    page = await open_page(await new_context(viewport={"width": 900, "height": 700}), url)
    target = widget(page).locator("article.target")
    await expect(target).to_contain_text("Reply 204")
    shown = item(page, "Parent").locator("ol.replies > li.comment > article > p.body")
    assert (await shown.all_inner_texts())[0] == "Reply 203"
    await expect(widget(page).get_by_role("button", name="Show earlier comments")).to_be_hidden()
    await audit(page, "a link more than ten reply pages in")

    await item(page, "Parent").get_by_role("button", name="Show earlier replies").click()
    # The parent's replies from the first; the parent outlined, then the reply once reached.
    await expect(target).to_contain_text("Parent")
    await expect(shown).to_have_count(3)
    assert await shown.all_inner_texts() == ["Reply 0", "Reply 1", "Reply 2"]
    more = item(page, "Parent").get_by_role("button", name="Load More Replies")
    for count in range(23, 224, 20):
        await more.click()
        await expect(shown).to_have_count(min(count, 205), timeout=15_000)
    await expect(target).to_contain_text("Reply 204")
    await expect(target).to_be_in_viewport()
    assert page.errors == []  # type: ignore[attr-defined]


async def test_a_reply_being_typed_under_a_pinned_comment_keeps_the_focus_when_a_comment_arrives(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    ids = [
        await seed_comment(comments.store, site, "typing", f"Comment {i}", ago=100 - i)
        for i in range(3)
    ]
    services = command_services(comments.store, SECRET)
    await pins.set_pinned(
        services, await SiteDirectory(comments.store).get(site), ids[0], pinned=True
    )
    page = await open_page(
        await new_context(viewport={"width": 900, "height": 1400}), comments.article(site, "typing")
    )
    pinned = item(page, "Comment 0")
    await expect(pinned.locator(".pin-label")).to_have_text("Pinned")
    await expect(page.get_by_text("Active: 1")).to_be_visible()
    await own_actions(pinned).get_by_role("button", name="Reply").click()
    box = pinned.locator("textarea")
    await expect(box).to_be_focused()
    await page.keyboard.type("half a reply")

    await comments.post(site, "typing", "Newly arrived", name="Dana")
    bodies = widget(page).locator("ol.list > li.comment > article > p.body")
    # The pinned comment stays first; the new one goes right under it.
    await expect(bodies).to_have_text(["Comment 0", "Newly arrived", "Comment 2", "Comment 1"])
    await expect(box).to_be_focused()
    await page.keyboard.type(" and the rest")
    await expect(box).to_have_value("half a reply and the rest")
    assert page.errors == []  # type: ignore[attr-defined]


async def test_a_moderator_unpinning_by_keyboard_keeps_the_focus_as_the_comment_moves_down(
    comments: Comments, new_context: Any
) -> None:
    site = await sso_site(comments, moderators=True)
    for i in range(3):
        await seed_comment(comments.store, site.id, "unpin", f"Comment {i}", ago=100 - i)
    moderator = await moderator_page(site, new_context, "unpin")
    bodies = widget(moderator).locator("ol.list > li.comment > article > p.body")
    for i in (0, 1):
        await own_actions(item(moderator, f"Comment {i}")).get_by_role("button", name="Pin").click()
        await expect(item(moderator, f"Comment {i}").locator(".pin-label")).to_have_text("Pinned")
    await expect(bodies).to_have_text(["Comment 1", "Comment 0", "Comment 2"])

    # Comment 1 is no longer pinned: it moves below the one still pinned, and the keyboard
    # stays on its button, now Pin.
    await own_actions(item(moderator, "Comment 1")).get_by_role("button", name="Unpin").focus()
    await moderator.keyboard.press("Enter")
    await expect(bodies).to_have_text(["Comment 0", "Comment 1", "Comment 2"])
    pin = own_actions(item(moderator, "Comment 1")).get_by_role("button", name="Pin")
    await expect(pin).to_be_focused()
    await moderator.keyboard.press("Enter")
    await expect(bodies).to_have_text(["Comment 1", "Comment 0", "Comment 2"])
    assert moderator.errors == []  # type: ignore[attr-defined]


async def test_replies_asked_for_before_a_sort_are_not_lost_to_it(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    parent = await seed_comment(comments.store, site, "replies", "Parent", ago=1000)
    for j in range(10):
        await seed_comment(
            comments.store, site, "replies", f"Reply {j}", ago=900 - j, parent=parent
        )
    page = await open_page(await new_context(), comments.article(site, "replies"))
    replies = item(page, "Parent").locator("ol.replies > li.comment")
    await expect(replies).to_have_count(3)

    # The replies' answer held until the thread was reloaded in another order.
    sorted_meanwhile = asyncio.Event()
    held: list[Route] = []

    async def hold(route: Route) -> None:
        if held:
            return await route.continue_()
        held.append(route)
        await sorted_meanwhile.wait()
        await route.continue_()

    await page.route(re.compile(r".*/comments/\d+/replies\?.*"), hold)
    async with page.expect_response(re.compile(r".*/comments/\d+/replies\?.*")) as late:
        await item(page, "Parent").get_by_role("button", name="Load More Replies").click()
        oldest = (
            widget(page).get_by_role("group", name="Sort by").get_by_role("button", name="Oldest")
        )
        await oldest.click()
        await expect(oldest).to_have_attribute("aria-pressed", "true")
        await expect(replies).to_have_count(3)
        sorted_meanwhile.set()
    await (await late.value).finished()
    await settled(page)

    await expect(replies).to_have_count(3)
    await item(page, "Parent").get_by_role("button", name="Load More Replies").click()
    await expect(replies).to_have_count(10)
    assert page.errors == []  # type: ignore[attr-defined]


async def test_a_link_followed_while_more_comments_load_keeps_the_list_in_order(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    ids = [
        await seed_comment(comments.store, site, "follow", f"Comment {i}", ago=1000 - i)
        for i in range(45)
    ]
    page = await open_page(await new_context(), comments.article(site, "follow"))
    bodies = widget(page).locator("ol.list > li.comment > article > p.body")
    await expect(bodies).to_have_count(20)

    followed = asyncio.Event()

    async def hold(route: Route) -> None:
        await followed.wait()
        await route.continue_()

    await page.route(re.compile(r".*/thread\?.*cursor=.*"), hold)
    async with page.expect_response(re.compile(r".*/thread\?.*cursor=.*")) as late:
        await widget(page).get_by_role("button", name="Load More Comments").click()
        # A link to a comment on the third page: the thread through it, all 45.
        await page.evaluate(f"location.hash = '#threadline-comment-{ids[0]}'")
        await expect(widget(page).locator("article.target")).to_contain_text("Comment 0")
        await expect(bodies).to_have_count(45)
        followed.set()
    await (await late.value).finished()
    await settled(page)

    assert await bodies.all_inner_texts() == [f"Comment {i}" for i in reversed(range(45))]
    await expect(widget(page).get_by_role("button", name="Load More Comments")).to_be_hidden()
    assert page.errors == []  # type: ignore[attr-defined]


async def test_a_link_followed_while_a_reply_is_being_written_keeps_the_reply(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    ids = [
        await seed_comment(comments.store, site, "draft", f"Comment {i}", ago=1000 - i)
        for i in range(25)
    ]
    page = await open_page(await new_context(), comments.article(site, "draft"))
    bodies = widget(page).locator("ol.list > li.comment > article > p.body")
    await expect(bodies).to_have_count(20)
    writing = item(page, "Comment 24")
    await own_actions(writing).get_by_role("button", name="Reply").click()
    await writing.locator("textarea").fill("A reply under way")

    # A link to a comment not shown would reload the thread: it waits; one to a shown
    # comment (handled after it) still outlines that one.
    await page.evaluate(f"location.hash = '#threadline-comment-{ids[0]}'")
    await page.evaluate(f"location.hash = '#threadline-comment-{ids[10]}'")
    await expect(widget(page).locator("article.target")).to_contain_text("Comment 10")
    await expect(writing.locator("textarea")).to_have_value("A reply under way")
    await expect(bodies).to_have_count(20)
    assert page.errors == []  # type: ignore[attr-defined]


async def test_copy_link_leaves_the_query_out_and_prefers_the_canonical_address(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    posted = await comments.post(site, "copy", "Link to me", name="Chen")
    comment_id = posted["comment"]["id"]
    ctx = await new_context()
    await ctx.add_init_script(COPIED)

    plain = comments.article(site, "copy")
    page = await open_page(ctx, plain + "?magic=SECRET#intro")
    await own_actions(item(page, "Link to me")).get_by_role("button", name="Copy link").click()
    await expect(widget(page).locator("div.status")).to_have_text("Link copied")
    assert await page.evaluate("window.copied") == f"{plain}#threadline-comment-{comment_id}"

    canonical = "https://blog.example/posts/copy?part=2"
    declared = comments.article(
        site,
        "copy",
        f"{site}-copy-canonical.html",
        head=f'<link rel="canonical" href="{canonical}">',
    )
    page = await open_page(ctx, declared + "?magic=SECRET")
    await own_actions(item(page, "Link to me")).get_by_role("button", name="Copy link").click()
    await expect(widget(page).locator("div.status")).to_have_text("Link copied")
    assert await page.evaluate("window.copied") == f"{canonical}#threadline-comment-{comment_id}"


async def best_page(comments: Comments, new_context: Any, page_key: str) -> tuple[str, Page]:
    """A site with 25 comments, open in best order."""
    site = await comments.site()
    for i in range(25):
        await seed_comment(comments.store, site, page_key, f"Comment {i}", ago=1000 - i)
    ctx = await new_context()
    await ctx.add_init_script(
        f"localStorage.setItem('threadline:{site}', JSON.stringify({{o: 'best'}}))"
    )
    page = await open_page(ctx, comments.article(site, page_key))
    await expect(widget(page).get_by_role("button", name="Best")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(widget(page).locator("ol.list > li.comment")).to_have_count(20)
    return site, page


async def test_a_refused_load_more_says_why(comments: Comments, new_context: Any) -> None:
    site, page = await best_page(comments, new_context, "refused")
    shown = widget(page).locator("ol.list > li.comment")
    first = await shown.first.locator(":scope > article").get_attribute("id") or ""
    await spend_ranked_requests(comments, site, "refused", int(first.split("-")[-1]))
    await widget(page).get_by_role("button", name="Load More Comments").click()
    status = widget(page).locator("div.status")
    await expect(status).to_have_text(
        re.compile(r"^Too many comments for now: try again in \d+ seconds?\.$")
    )
    await expect(status).to_have_class(re.compile(r"\berror\b"))
    await expect(shown).to_have_count(20)
    await expect(widget(page).get_by_role("button", name="Load More Comments")).to_be_enabled()


def expired(url: str) -> str:
    """The same request with its best cursor's snapshot 21 hours older."""
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    cursor = Cursor.decode(query["cursor"])
    assert cursor.at is not None
    query["cursor"] = Cursor(
        cursor.created_at, cursor.id, Order.BEST, cursor.at - TWENTY_ONE_HOURS_MS, cursor.score
    ).encode()
    return urlunsplit(parts._replace(query=urlencode(query)))


async def test_load_more_after_the_best_snapshot_expired_loads_the_thread_again(
    comments: Comments, new_context: Any
) -> None:
    _, page = await best_page(comments, new_context, "expired")
    aged: list[str] = []

    async def age(route: Route, request: Request) -> None:
        if aged:
            return await route.continue_()
        aged.append(request.url)
        await route.continue_(url=expired(request.url))

    await page.route(re.compile(r".*/thread\?.*cursor=.*"), age)
    shown = widget(page).locator("ol.list > li.comment")
    more = widget(page).get_by_role("button", name="Load More Comments")
    # The server answers cursor_expired; the widget asks for the first page again.
    async with page.expect_request(
        lambda request: "/thread?" in request.url and "cursor=" not in request.url
    ):
        await more.click()
    await expect(shown).to_have_count(20)
    await expect(more).to_be_enabled()
    await more.click()
    await expect(shown).to_have_count(25)
    assert len(aged) == 1
    assert page.errors == []  # type: ignore[attr-defined]
