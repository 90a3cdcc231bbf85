"""Moderators in real Chromium: the queue follows the widget and other moderators live."""

from __future__ import annotations

import asyncio
import itertools
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect

from server.core.context import command_services
from server.core.moderators import add_moderator
from server.core.passwords import hasher
from tests.support.browser import Comments, open_page
from tests.support.config import SECRET
from tests.support.sso import claims, enable_sso, hs256_key

pytestmark = pytest.mark.e2e
PASSWORD = "a long moderator password"
_people = itertools.count(1)


async def moderator(comments: Comments, new_context: Any, site: str, **context: Any) -> Page:
    email = f"m{next(_people)}@blog.test"
    await add_moderator(
        command_services(comments.store, SECRET), hasher("test"), email, site, password=PASSWORD
    )
    page = await open_page(await new_context(**context), f"{comments.base}/moderate/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("link", name="Queue")).to_be_visible()
    return page


async def test_held_comment_appears_live_and_approval_reaches_readers(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site(moderation="all")
    url = comments.article(site, "mod-live")
    mod = await moderator(comments, new_context, site)
    author = await open_page(await new_context(), url)
    reader = await open_page(await new_context(), url)
    await expect(reader.get_by_text("Active: 2")).to_be_visible()
    await expect(mod.locator('[data-count="pending"]')).to_have_text("0")
    await author.get_by_label("Comment").fill("Held until a human says yes")
    await author.get_by_role("button", name="Submit").click()
    pending_text = "Your comment will appear once approved by a moderator."
    await expect(author.locator("li.comment").get_by_text(pending_text)).to_be_visible()
    item = mod.locator("li.item", has_text="Held until a human says yes")
    await expect(item).to_be_visible()  # no reload
    await expect(item.get_by_text("moderation mode: all")).to_be_visible()
    await expect(mod.locator('[data-count="pending"]')).to_have_text("1")
    await item.get_by_role("button", name="Approve").click()
    await expect(item).to_have_count(0)
    await expect(reader.get_by_text("Held until a human says yes")).to_be_visible()
    await expect(author.locator("li.comment").get_by_text(pending_text)).to_have_count(0)
    await expect(author.get_by_text("Held until a human says yes")).to_be_visible()
    # Nor does the status line under the form still say it awaits approval.
    await expect(author.get_by_text(pending_text)).to_have_count(0)
    await expect(mod.locator('[data-count="pending"]')).to_have_text("0")
    await expect(mod.locator('[data-count="approved"]')).to_have_text("1")
    assert mod.errors == []  # type: ignore[attr-defined]


async def test_rejection_by_one_moderator_vanishes_from_the_other(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site(moderation="all")
    for body in ("First held", "Second held"):
        await comments.post(site, "two-mods", body)
    alice = await moderator(comments, new_context, site)
    bob = await moderator(comments, new_context, site)
    for page in (alice, bob):
        await page.reload()
        await expect(page.locator("li.item")).to_have_count(2)
    await bob.wait_for_timeout(300)  # both sockets subscribed
    target = alice.locator("li.item", has_text="First held")
    await target.hover()
    await expect(
        bob.locator("li.item", has_text="First held").locator(".reviewing")
    ).to_contain_text("is reviewing")
    await target.get_by_role("button", name="Reject").click()
    await expect(bob.locator("li.item", has_text="First held")).to_have_count(0)
    await expect(bob.get_by_role("status").first).to_contain_text("handled by")
    await expect(bob.locator("li.item", has_text="Second held")).to_be_visible()
    await expect(bob.locator('[data-count="rejected"]')).to_have_text("1")


async def test_moderator_reply_shows_the_moderator_badge(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    await comments.post(site, "answered", "Is this open source?", name="Curious")
    reader = await open_page(await new_context(), comments.article(site, "answered"))
    mod = await moderator(comments, new_context, site)
    await mod.goto(f"{comments.base}/moderate?tab=approved")
    item = mod.locator("li.item", has_text="Is this open source?")
    await item.get_by_text("Reply, edit or ban").click()
    await item.get_by_label("Moderator reply").fill("Yes, MIT licensed.")
    await item.get_by_role("button", name="Post reply").click()
    reply = reader.locator("ol.replies li.comment", has_text="Yes, MIT licensed.")
    await expect(reply).to_be_visible()
    await expect(reply.get_by_text("Moderator", exact=True)).to_be_visible()


async def test_readers_flag_a_comment_into_the_queue(comments: Comments, new_context: Any) -> None:
    site = await comments.site()
    await comments.post(site, "flags", "Something dubious")
    mod = await moderator(comments, new_context, site)
    await mod.goto(f"{comments.base}/moderate?tab=flagged")
    reader = await open_page(await new_context(), comments.article(site, "flags"))
    reader.once("dialog", lambda d: asyncio.ensure_future(d.accept()))  # "Flag this comment...?"
    await reader.get_by_role("button", name="Flag").click()
    await expect(reader.get_by_text("Flagged", exact=True)).to_be_visible()
    await expect(reader.get_by_role("button", name="Undo")).to_be_visible()
    item = mod.locator("li.item", has_text="Something dubious")
    await expect(item).to_be_visible()
    await expect(item.get_by_text("flagged by 1 reader")).to_be_visible()


async def test_rejection_tells_the_author_widget(comments: Comments, new_context: Any) -> None:
    site = await comments.site(moderation="all")
    author = await open_page(await new_context(), comments.article(site, "rejected"))
    await expect(author.get_by_text("Active: 1")).to_be_visible()
    await author.get_by_label("Comment").fill("This will not survive")
    await author.get_by_role("button", name="Submit").click()
    await expect(author.locator("li.comment", has_text="This will not survive")).to_be_visible()
    mod = await moderator(comments, new_context, site)
    item = mod.locator("li.item", has_text="This will not survive")
    await item.get_by_role("button", name="Reject").click()
    await expect(author.locator("li.comment", has_text="This will not survive")).to_have_count(0)
    await expect(author.get_by_text("Your comment was not approved.")).to_be_visible()


async def test_a_text_edited_under_the_moderators_eyes_is_shown_and_marked(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site(moderation="all")
    posted = await comments.post(site, "bait", "A harmless remark")
    mod = await moderator(comments, new_context, site)
    item = mod.locator(f"#item-{posted['comment']['id']}")
    await expect(item).to_contain_text("A harmless remark")
    await mod.wait_for_timeout(300)  # the live queue's socket is subscribed
    r = await comments.http.patch(
        f"{comments.server.url}/api/v1/sites/{site}/comments/{posted['comment']['id']}",
        json={"body": "Buy pills at spam.example"},
        headers={"Authorization": f"Bearer {posted['author_token']}"},
    )
    assert r.status_code == 200
    await expect(item).to_contain_text("Buy pills at spam.example")
    await expect(item).to_have_class("item changed")
    await item.get_by_role("button", name="Approve").click()  # what it shows is what it approves
    await expect(item).to_have_count(0)
    assert mod.errors == []  # type: ignore[attr-defined]


async def test_bulk_approve_works_with_javascript_on(comments: Comments, new_context: Any) -> None:
    """The bulk form's buttons are named ``action``: the script must not read form.action
    (the field shadows it) and post to ``/[object RadioNodeList]``."""
    site = await comments.site(moderation="all")
    for body in ("Bulk one", "Bulk two", "Bulk three"):
        await comments.post(site, "bulk", body)
    mod = await moderator(comments, new_context, site)
    items = mod.locator("li.item")
    await expect(items).to_have_count(3)
    for body in ("Bulk one", "Bulk two"):
        await mod.locator("li.item", has_text=body).get_by_role("checkbox").check()
    await mod.locator("#bulk").get_by_role("button", name="Approve").click()
    await expect(mod.get_by_role("status").first).to_have_text("Done: 2; refused: 0.")
    await expect(items).to_have_count(1)
    await expect(items).to_contain_text("Bulk three")
    reader = await open_page(await new_context(), comments.article(site, "bulk"))
    await expect(reader.get_by_text("Bulk one")).to_be_visible()
    await expect(reader.get_by_text("Bulk two")).to_be_visible()
    assert mod.errors == []  # type: ignore[attr-defined]


async def test_times_show_in_the_moderators_time_zone(comments: Comments, new_context: Any) -> None:
    """The server only knows UTC; the page shows the browser's zone (Kathmandu: +5:45, so
    the minutes differ too), keeping UTC as the tooltip, also for items arriving live."""
    site = await comments.site(moderation="all")
    first = await comments.post(site, "zones", "Posted before the page opened")
    mod = await moderator(comments, new_context, site, timezone_id="Asia/Kathmandu")
    await mod.wait_for_timeout(300)  # the live queue's socket is subscribed
    second = await comments.post(site, "zones", "Posted while it was open")
    zone = ZoneInfo("Asia/Kathmandu")
    for posted in (first, second):
        created = datetime.fromisoformat(posted["comment"]["created_at"].replace("Z", "+00:00"))
        local = created.astimezone(zone)
        expected = (
            f"{local:%b} {local.day}, {local.year}, {local.hour % 12 or 12}:{local:%M} {local:%p}"
        )
        stamp = mod.locator(f"#item-{posted['comment']['id']} time")
        await expect(stamp).to_have_attribute("title", f"{created:%Y-%m-%d %H:%M} UTC")
        shown = re.sub(r"\s", " ", await stamp.inner_text())
        assert shown == expected
    item = mod.locator(f"#item-{first['comment']['id']}")
    await item.get_by_role("button", name="Approve").click()
    await expect(item).to_have_count(0)
    await mod.goto(f"{comments.base}/moderate/audit")  # every page, not only the queue
    await expect(mod.locator("table.audit time").first).to_have_attribute(
        "title", re.compile(" UTC$")
    )
    assert mod.errors == []  # type: ignore[attr-defined]


async def test_delete_asks_first_and_the_deleted_tab_restores_it_for_readers(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    await comments.post(site, "undo", "Deleted by mistake")
    reader = await open_page(await new_context(), comments.article(site, "undo"))
    await expect(reader.get_by_text("Deleted by mistake")).to_be_visible()
    mod = await moderator(comments, new_context, site)
    await mod.goto(f"{comments.base}/moderate?tab=approved")
    item = mod.locator("li.item", has_text="Deleted by mistake")
    await item.get_by_role("button", name="Delete").click()
    ask = mod.get_by_role("alertdialog")
    await expect(ask).to_contain_text("Delete 1 comment?")
    await expect(ask).to_contain_text("restore it from the Deleted tab")
    await ask.get_by_role("button", name="Cancel").click()
    await expect(ask).to_have_count(0)
    await expect(item).to_be_visible()
    await expect(reader.get_by_text("Deleted by mistake")).to_be_visible()
    await item.get_by_role("button", name="Delete").click()
    await mod.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    await expect(item).to_have_count(0)
    await expect(reader.get_by_text("Deleted by mistake")).to_have_count(0)
    await expect(mod.locator('[data-count="deleted"]')).to_have_text("1")
    await mod.get_by_role("link", name="Deleted").click()
    deleted = mod.locator("li.item", has_text="Deleted by mistake")
    await expect(deleted).to_contain_text("can be restored until")
    await expect(deleted.get_by_role("button")).to_have_text(["Restore"])
    await deleted.get_by_role("button", name="Restore").click()
    await expect(deleted).to_have_count(0)
    await expect(reader.get_by_text("Deleted by mistake")).to_be_visible()
    await expect(mod.locator('[data-count="deleted"]')).to_have_text("0")
    assert mod.errors == []  # type: ignore[attr-defined]


async def test_keyboard_shortcuts_work_the_queue(comments: Comments, new_context: Any) -> None:
    site = await comments.site(moderation="all")
    for body in ("Key one", "Key two", "Key three", "Key four"):
        await comments.post(site, "keys", body)
    mod = await moderator(comments, new_context, site)
    items = mod.locator("#queue > li.item")
    await expect(items).to_have_count(4)
    await mod.keyboard.press("?")
    helper = mod.get_by_role("dialog", name="Keyboard shortcuts")
    await expect(helper).to_be_visible()
    await expect(helper).to_contain_text("Next comment")
    await mod.keyboard.press("Escape")
    await expect(helper).to_be_hidden()
    current = mod.locator("li.item.current")
    await mod.keyboard.press("j")
    await expect(current).to_contain_text("Key one")
    await expect(current).to_be_focused()
    await mod.keyboard.press("j")
    await mod.keyboard.press("j")
    await mod.keyboard.press("k")
    await expect(current).to_contain_text("Key two")
    await mod.keyboard.press("k")
    await expect(current).to_contain_text("Key one")
    await mod.keyboard.press("a")
    await expect(items).to_have_count(3)
    await expect(current).to_contain_text("Key two")  # the cursor moves on
    await mod.keyboard.press("r")
    await expect(items).to_have_count(2)
    await expect(current).to_contain_text("Key three")
    await mod.keyboard.press("s")
    await expect(items).to_have_count(1)
    await expect(current).to_contain_text("Key four")
    await mod.keyboard.press("x")
    await expect(current.get_by_role("checkbox")).to_be_checked()
    await mod.get_by_label("Search text, author or page").press("a")  # typing, not a key
    await expect(items).to_have_count(1)
    for tab, n in (("approved", "1"), ("rejected", "1"), ("spam", "1"), ("pending", "1")):
        await expect(mod.locator(f'[data-count="{tab}"]')).to_have_text(n)
    reader = await open_page(await new_context(), comments.article(site, "keys"))
    await expect(reader.get_by_text("Key one")).to_be_visible()
    await expect(reader.get_by_text("Key two")).to_have_count(0)
    assert mod.errors == []  # type: ignore[attr-defined]


async def test_what_changed_while_the_live_queue_was_away_shows_when_it_reconnects(
    comments: Comments, new_context: Any
) -> None:
    # Fails without the socket's hello frame: a comment held while the moderator's socket
    # was down (a redeploy, a network blip) never reached the page until a reload.
    site = await comments.site(moderation="all")
    await comments.post(site, "away", "Held before the page")
    await comments.post(site, "away", "Approved while away")
    mod = await moderator(comments, new_context, site)
    items = mod.locator("li.item")
    await expect(items).to_have_count(2)
    away: list[Any] = []

    async def hold_the_first(route: Any) -> None:
        if not away:
            away.append(route)  # the page's socket opens, but to nobody
        else:
            route.connect_to_server()

    await mod.route_web_socket(re.compile(r"/moderate/ws"), hold_the_first)
    await mod.reload()
    await expect(items).to_have_count(2)
    async with asyncio.timeout(5):
        while not away:
            await asyncio.sleep(0.05)
    await comments.post(site, "away", "Held while away")
    # Another moderator approves one, through the moderation pages' own form.
    other = await moderator(comments, new_context, site)
    await (
        other.locator("li.item", has_text="Approved while away")
        .get_by_role("button", name="Approve")
        .click()
    )
    await expect(other.locator("li.item", has_text="Approved while away")).to_have_count(0)
    await away[0].close()  # the socket drops; the page reconnects on its own
    await expect(items.filter(has_text="Held while away")).to_be_visible()  # no reload
    await expect(items.filter(has_text="Approved while away")).to_have_count(0)
    await expect(items).to_have_count(2)
    await expect(mod.locator('[data-count="pending"]')).to_have_text("2")
    await expect(mod.locator('[data-count="approved"]')).to_have_text("1")
    assert mod.errors == []  # type: ignore[attr-defined]


async def test_a_flag_raised_while_the_live_queue_was_away_shows_when_it_reconnects(
    comments: Comments, new_context: Any
) -> None:
    # Fails when the hello frame only compared the text's version: a flag changes what the
    # item shows (and its stamp), not its text.
    site = await comments.site()
    target = (await comments.post(site, "flags", "Published, flagged later"))["comment"]["id"]
    reader = (await comments.post(site, "flags", "A reader's own remark"))["author_token"]
    mod = await moderator(comments, new_context, site)
    await mod.goto(f"{comments.base}/moderate?tab=approved")
    item = mod.locator("li.item", has_text="Published, flagged later")
    await expect(item).to_be_visible()
    away: list[Any] = []

    async def hold_the_first(route: Any) -> None:
        if not away:
            away.append(route)
        else:
            route.connect_to_server()

    await mod.route_web_socket(re.compile(r"/moderate/ws"), hold_the_first)
    await mod.reload()
    await expect(item).to_be_visible()
    async with asyncio.timeout(5):
        while not away:
            await asyncio.sleep(0.05)
    flagged = await comments.http.post(
        f"{comments.server.url}/api/v1/sites/{site}/comments/{target}/flag",
        headers={"Authorization": f"Bearer {reader}"},
    )
    assert flagged.status_code == 200, flagged.text
    await expect(item.get_by_text("Flagged by 1 reader")).to_have_count(0)  # nothing live
    await away[0].close()
    await expect(item.get_by_text("Flagged by 1 reader")).to_be_visible()  # no reload
    await expect(mod.locator('[data-count="flagged"]')).to_have_text("1")
    assert mod.errors == []  # type: ignore[attr-defined]


async def test_select_all_selects_every_item_for_a_bulk_decision(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site(moderation="all")
    for body in ("All one", "All two", "All three"):
        await comments.post(site, "all", body)
    mod = await moderator(comments, new_context, site)
    await expect(mod.locator("li.item")).to_have_count(3)
    everything = mod.get_by_label("Select all")
    await everything.check()
    for box in await mod.locator("li.item").get_by_role("checkbox").all():
        await expect(box).to_be_checked()
    await mod.locator("li.item", has_text="All two").get_by_role("checkbox").uncheck()
    await expect(everything).not_to_be_checked()
    assert await everything.evaluate("box => box.indeterminate")
    await mod.locator("#bulk").get_by_role("button", name="Reject").click()
    await expect(mod.get_by_role("status").first).to_have_text("Done: 2; refused: 0.")
    await expect(mod.locator("li.item")).to_have_count(1)
    await expect(mod.locator("li.item")).to_contain_text("All two")
    await expect(everything).not_to_be_checked()
    assert not await everything.evaluate("box => box.indeterminate")
    assert mod.errors == []  # type: ignore[attr-defined]


async def test_a_verified_readers_comment_arrives_live_with_its_mark_and_no_avatar_image(
    comments: Comments, new_context: Any
) -> None:
    key = hs256_key()
    site = await comments.site(moderation="all")
    await enable_sso(comments.store, site, key)  # before the server first reads the site
    mod = await moderator(comments, new_context, site)
    avatar = "https://avatars.example/ada.png"
    signed = await comments.http.post(
        f"{comments.server.url}/api/v1/sites/{site}/sso/session",
        json={"token": key.sign(claims(site, name="Ada Verified", avatar=avatar))},
    )
    assert signed.status_code == 200, signed.text
    r = await comments.http.post(
        f"{comments.server.url}/api/v1/sites/{site}/comments",
        json={"page": "sso-live", "body": "Signed in and held"},
        headers={"Authorization": f"Bearer {signed.json()['session']}"},
    )
    assert r.status_code == 201, r.text
    item = mod.locator("li.item", has_text="Signed in and held")
    await expect(item).to_be_visible()  # no reload
    await expect(item.locator(".author")).to_have_text("Ada Verified")
    await expect(item.locator(".badge.verified")).to_have_text("verified")
    await expect(item.get_by_text("avatar from avatars.example")).to_be_visible()
    assert await mod.locator("img").count() == 0
    await mod.reload()  # the page, which reads the identity, also shows the site's user id
    await expect(item.get_by_text("user id user-1")).to_be_visible()
    assert await mod.locator("img").count() == 0
    assert mod.errors == []  # type: ignore[attr-defined]
