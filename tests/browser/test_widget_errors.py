"""Honest errors: a thread that cannot load says why and tries again; a refused comment
keeps the reader's text and says why, in the reader's language."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.async_api import ConsoleMessage, Page, Route, expect

from server.core.context import command_services
from server.core.models import Ban, Filters, Status
from server.core.sites import add_site, update_site
from server.web.widget_source import served_widget
from tests.support.browser import Comments, open_page
from tests.support.config import SECRET
from tests.support.servers import ServerProcess
from tests.support.services import free_port

pytestmark = pytest.mark.e2e
FAILED = "Comments could not be loaded."
THREAD = re.compile(r".*/thread\?.*")


def console(page: Page) -> list[str]:
    lines: list[str] = []

    def keep(m: ConsoleMessage) -> None:
        if m.text.startswith("[threadline]"):
            lines.append(m.text)

    page.on("console", keep)
    return lines


async def shows_failure(page: Page, reason: str) -> None:
    await expect(page.get_by_role("heading", name=FAILED)).to_be_visible()
    await expect(page.get_by_text(reason)).to_be_visible()
    await expect(page.get_by_role("button", name="Retry")).to_be_visible()
    # No live form under a thread that never loaded.
    await expect(page.get_by_label("Comment")).to_be_disabled()
    await expect(page.get_by_role("button", name="Submit")).to_be_disabled()
    await expect(page.get_by_text("Oops!")).to_have_count(0)


async def retry_until_loaded(page: Page, shown: str = "Be the first to leave a comment.") -> None:
    """Press Retry until the thread is there (a server learns of site changes within
    seconds); the form comes alive with it."""
    deadline = time.monotonic() + 15
    loaded = page.get_by_text(shown)
    while not await loaded.is_visible():
        assert time.monotonic() < deadline, "Retry never loaded the thread"
        retry = page.get_by_role("button", name="Retry")
        if await retry.is_visible() and await retry.is_enabled():
            await retry.click()
        await page.wait_for_timeout(300)
    await expect(page.get_by_label("Comment")).to_be_enabled()
    await expect(page.get_by_role("button", name="Retry")).to_be_hidden()


async def test_unknown_site_says_so_logs_the_fix_and_loads_once_it_exists(
    comments: Comments, new_context: Any
) -> None:
    site = f"later{time.monotonic_ns()}"
    ctx = await new_context()
    page = await ctx.new_page()
    logged = console(page)
    await page.goto(comments.article(site, "p"))
    await shows_failure(page, "This site is not set up for comments.")
    fix = f"threadline site add {site} --origin {comments.host.origin}"
    assert [line for line in logged if fix in line], logged
    await add_site(command_services(comments.store, SECRET), site, origins=[comments.host.origin])
    await retry_until_loaded(page)


async def test_refused_origin_says_so_logs_the_fix_and_loads_once_allowed(
    comments: Comments, new_context: Any
) -> None:
    site = f"elsewhere{time.monotonic_ns()}"
    await add_site(
        command_services(comments.store, SECRET), site, origins=["https://other.example"]
    )
    ctx = await new_context()
    page = await ctx.new_page()
    logged = console(page)
    await page.goto(comments.article(site, "p"))
    await shows_failure(page, "Comments are not enabled for this page's address.")
    fix = f"threadline site update {site} --add-origin {comments.host.origin}"
    assert [line for line in logged if fix in line], logged
    assert len(logged) == 1  # one line, and not again on every retry
    await update_site(
        command_services(comments.store, SECRET), site, add_origins=[comments.host.origin]
    )
    await retry_until_loaded(page)


async def test_unreachable_server_says_so_retries_and_loads_once_it_is_back(
    comments: Comments, new_context: Any
) -> None:
    """The server is down (its script came from a cache); it starts; the thread loads."""
    site = await comments.site()
    await comments.post(site, "down", "Here all along")
    port = free_port()
    base = f"http://comments.test:{port}"
    url = comments.host.page(
        "down.html",
        '<div id="threadline"></div><script src="'
        f'{base}/widget.js" data-site="{site}" data-page="down" async>'
        "</script>",
    )
    page = await (await new_context()).new_page()
    await page.route(
        f"{base}/widget.js",
        lambda route: route.fulfill(body=served_widget(), content_type="text/javascript"),
    )
    failed: list[float] = []
    page.on(
        "requestfailed", lambda r: failed.append(time.monotonic()) if "/thread?" in r.url else None
    )
    await page.goto(url)
    await shows_failure(page, "The comment server cannot be reached.")
    deadline = time.monotonic() + 10  # tried again by itself, backing off
    while len(failed) < 2:
        assert time.monotonic() < deadline, "no automatic retry"
        await page.wait_for_timeout(100)
    await expect(page.get_by_text("The comment server cannot be reached.")).to_be_visible()
    server = ServerProcess(comments.server.env, port=port).start()
    try:
        await retry_until_loaded(page, "Here all along")
        await expect(page.get_by_role("heading", name="1 comment", exact=True)).to_be_visible()
        await expect(page.get_by_text("Active: 1")).to_be_visible()  # and it went live
    finally:
        server.terminate()


async def test_thread_that_comes_back_by_itself_needs_no_click(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    page = await (await new_context()).new_page()
    await page.route(THREAD, lambda route: route.abort("connectionrefused"))
    await page.goto(comments.article(site, "back"))
    await shows_failure(page, "The comment server cannot be reached.")
    await page.unroute(THREAD)
    await expect(page.get_by_text("Be the first to leave a comment.")).to_be_visible(timeout=15000)


async def status_after_posting(page: Page, text: str) -> Any:
    await page.get_by_label("Comment").fill(text)
    await page.get_by_role("button", name="Submit").click()
    return page.get_by_role("status")


async def test_each_posting_refusal_says_why_and_keeps_the_text(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    await update_site(
        command_services(comments.store, SECRET), site, filters=Filters(banned_words=("grift",))
    )
    page = await open_page(await new_context(), comments.article(site, "refusals"))
    box = page.get_by_label("Comment")

    status = await status_after_posting(page, "Said once")
    await expect(status).to_have_text("Thank you! Your submission has been received!")
    status = await status_after_posting(page, "Said once")
    await expect(status).to_have_text("You have already posted this comment.")
    await expect(box).to_have_value("Said once")

    status = await status_after_posting(page, "What a grift")
    await expect(status).to_have_text("Your comment contains words this site does not accept.")
    await expect(box).to_have_value("What a grift")

    await page.evaluate(
        "document.querySelector('#threadline').shadowRoot"
        ".querySelector('textarea').removeAttribute('maxlength')"
    )
    status = await status_after_posting(page, "x" * 5001)
    await expect(status).to_have_text("Your comment is too long: at most 5000 characters.")
    await expect(box).to_have_value("x" * 5001)

    async def limited(route: Route) -> None:  # the real 429, as a busy server sends it
        await route.fulfill(
            status=429,
            content_type="application/json",
            headers={
                "Retry-After": "42",
                "Access-Control-Allow-Origin": comments.host.origin,
                "Access-Control-Expose-Headers": "Retry-After",
            },
            body='{"error":{"code":"rate_limited","message":"too many comments"}}',
        )

    await page.route(re.compile(r".*/comments$"), limited)
    status = await status_after_posting(page, "Not so fast")
    await expect(status).to_have_text("Too many comments for now: try again in 42 seconds.")
    await expect(box).to_have_value("Not so fast")
    await page.unroute(re.compile(r".*/comments$"))

    async with comments.store.write() as tx:
        mine = await tx.find_comment(await _id_of(comments, site, "Said once"))
        assert mine is not None
        await tx.insert_ban(
            Ban(
                id=0,
                site_id=site,
                author_hash=mine.author_hash,
                ip_hash=None,
                mode="reject",
                reason=None,
                created_at=0,
            ),
            None,
        )
    status = await status_after_posting(page, "Let me back in")
    await expect(status).to_have_text("You can no longer comment on this site.")
    await expect(box).to_have_value("Let me back in")


async def test_edit_after_the_window_closed_says_so(comments: Comments, new_context: Any) -> None:
    site = await comments.site()
    page = await open_page(await new_context(), comments.article(site, "late"))
    await page.get_by_label("Comment").fill("Written in haste")
    await page.get_by_role("button", name="Submit").click()
    item = page.locator("li.comment", has_text="Written in haste")
    await item.get_by_role("button", name="Edit").click()
    async with comments.store.write() as tx:  # an hour passes
        cid = await _id_of(comments, site, "Written in haste")
        await tx.update_comment(cid, created_at=int(time.time() * 1000) - 3600_000)
    await page.get_by_role("textbox", name="Edit").fill("Repented at leisure")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("This comment can no longer be changed.")
    await expect(page.get_by_role("textbox", name="Edit")).to_have_value("Repented at leisure")


async def _id_of(comments: Comments, site: str, body: str) -> int:
    from sqlalchemy import select

    from server.store.schema import comments as table

    async with comments.store.read() as tx:
        found: int = (
            await tx.conn.execute(
                select(table.c.id).where(table.c.site_id == site, table.c.body == body)
            )
        ).scalar_one()
    return found


async def test_refusals_and_load_failures_speak_the_readers_language(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    ctx = await new_context(locale="sr-RS")
    page = await open_page(ctx, comments.article(site, "jezik"))
    await page.get_by_role("textbox").last.fill("Два пута исто")
    await page.get_by_role("button", name="Пошаљи").click()
    await expect(page.locator("li.comment", has_text="Два пута исто")).to_be_visible()
    await page.get_by_role("textbox").last.fill("Два пута исто")
    await page.get_by_role("button", name="Пошаљи").click()
    await expect(page.get_by_role("status")).to_have_text("Већ сте објавили овај коментар.")
    de = await (await new_context(locale="de-DE")).new_page()
    await de.goto(comments.article(f"nirgends{time.monotonic_ns()}", "p"))
    await expect(
        de.get_by_role("heading", name="Die Kommentare konnten nicht geladen werden.")
    ).to_be_visible()
    await expect(
        de.get_by_text("Diese Website ist nicht für Kommentare eingerichtet.")
    ).to_be_visible()
    await expect(de.get_by_role("button", name="Erneut versuchen")).to_be_visible()


async def test_a_reply_to_a_comment_gone_meanwhile_says_so(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    await comments.post(site, "gone", "Soon to vanish")
    page = await open_page(await new_context(), comments.article(site, "gone"))
    item = page.locator("li.comment", has_text="Soon to vanish")
    await item.get_by_role("button", name="Reply").click()
    async with comments.store.write() as tx:  # a moderator rejects it meanwhile
        await tx.update_comment(
            await _id_of(comments, site, "Soon to vanish"), status=Status.REJECTED
        )
    await page.get_by_label("Reply to No Name").fill("Too late?")
    await page.get_by_role("button", name="Submit").last.click()
    await expect(page.get_by_role("status")).to_have_text("That comment is no longer there.")
    await expect(page.get_by_label("Reply to No Name")).to_have_value("Too late?")
