"""E-mail on replies from the widget (issue #18) in real Chromium on a page of another site,
with a real SMTP server (aiosmtpd): after reader A's post the widget offers to e-mail them,
by keyboard alone; the confirmation arrives, its link's page confirms with a button, and
reader B's reply brings A exactly one mail with one-click unsubscribe. Where the server
sends no mail (the shared browser server), no form is offered."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from server.store.database import SqlStore
from tests.browser.test_accessibility import audit
from tests.browser.test_widget_engage import tab_to, widget
from tests.browser.test_widget_notify import answer, ask, bell
from tests.support.browser import Comments, HostSite, open_page
from tests.support.config import env_for
from tests.support.db import Databases
from tests.support.mailbox import Mailbox, smtp_server, text_of
from tests.support.net import http_client
from tests.support.servers import ServerProcess
from tests.support.services import RedisServer, free_port

pytestmark = pytest.mark.e2e

ADDRESS = "asker@example.test"
CONFIRM_LINK = re.compile(r"https?://[^\s<>\"]+/mail/confirm\?t=[^\s<>\"]+")


@pytest.fixture(scope="module")
async def mailing(
    databases: Databases,
    redis_server: RedisServer,
    host_site: HostSite,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[Comments, Mailbox]]:
    """A server of its own that sends reader mail (an SMTP server and a public URL): the
    shared one sends none, and the other browser tests expect no offer after a post."""
    db_url = await databases.create("sqlite")
    data: Path = tmp_path_factory.mktemp("browser-mail-server")
    port = free_port()
    with smtp_server() as (box, smtp_port):
        server = ServerProcess(
            env_for(
                db_url,
                data,
                THREADLINE_REDIS_URL=redis_server.url,
                THREADLINE_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
                THREADLINE_SMTP_FROM="comments@blog.test",
                THREADLINE_PUBLIC_URL=f"http://comments.test:{port}",
            ),
            port=port,
        ).start()
        store = SqlStore(db_url)
        try:
            async with http_client(timeout=30) as http:
                yield Comments(server, store, host_site, http), box
        finally:
            server.terminate()
            await store.close()


def offer(page: Page) -> Locator:
    return widget(page).locator("form.mail-offer")


async def test_a_reader_leaves_an_address_by_keyboard_confirms_and_hears_of_one_reply(
    mailing: tuple[Comments, Mailbox], new_context: Any
) -> None:
    comments, box = mailing
    site = await comments.site()
    url = comments.article(site, "asked")
    a = await open_page(await new_context(), url)
    await ask(a, "Does anyone know the airspeed of a swallow?", "Arthur")
    form = offer(a)
    await expect(form).to_be_visible()
    address = form.get_by_label("Your e-mail address")
    await expect(address).to_have_attribute("type", "email")
    await expect(address).to_have_attribute("autocomplete", "email")
    await audit(a, "the e-mail offer after a post")

    # Keyboard only: from the comment form's button into the offer, tick the thread box,
    # send; the answer says nothing but to check the inbox, and the keyboard stays put.
    await a.get_by_role("button", name="Submit").focus()
    await tab_to(a, address)
    await a.keyboard.type(ADDRESS)
    await a.keyboard.press("Tab")
    thread_box = form.get_by_label("Also e-mail me every new comment on this page")
    await expect(thread_box).to_be_focused()
    await a.keyboard.press("Space")
    await expect(thread_box).to_be_checked()
    await a.keyboard.press("Tab")
    await expect(form.get_by_role("button", name="Notify me")).to_be_focused()
    await a.keyboard.press("Enter")
    await expect(form.get_by_role("status")).to_have_text("Check your inbox to confirm.")
    await expect(address).to_be_hidden()
    close = form.get_by_role("button", name="Close")
    await expect(close).to_be_focused()
    # Never kept in the browser's storage.
    stored = await a.evaluate("() => JSON.stringify({...localStorage})")
    assert ADDRESS not in stored and "asker" not in stored

    # One confirmation for both requests (the address's one a day); its link's page
    # confirms with a button (a GET changes nothing).
    (confirmation,) = await box.wait_for(ADDRESS, 1)
    found = CONFIRM_LINK.search(text_of(confirmation))
    assert found, text_of(confirmation)
    confirm_page = await (await new_context()).new_page()
    await confirm_page.goto(found.group(0))
    await confirm_page.get_by_role("button", name="Confirm").click()
    await expect(confirm_page.get_by_role("heading", name="Subscription confirmed")).to_be_visible()

    # Reader B answers: A hears of it once, though A follows both the comment and the page.
    b = await open_page(await new_context(), url)
    await answer(b, "Does anyone know the airspeed of a swallow?", "Arthur", "African or European?")
    mails = await box.wait_for(ADDRESS, 2)
    reply = mails[1]
    assert "African or European?" in text_of(reply)
    assert reply["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/mail/unsubscribe?t=" in reply["List-Unsubscribe"]
    # B's own post is offered to B (mail is on), and B leaves no address: nothing more for A.
    await expect(offer(b)).to_be_visible()
    with pytest.raises(TimeoutError):
        await box.wait_for(ADDRESS, 3, timeout=3.0)
    assert len(box.to(ADDRESS)) == 2

    # Closing goes back to the comment form.
    await a.keyboard.press("Enter")
    await expect(form).to_be_hidden()
    await expect(a.get_by_label("Comment", exact=True)).to_be_focused()
    assert a.errors == []  # type: ignore[attr-defined]


async def test_a_refused_address_is_said_and_another_comment_takes_the_offer_away(
    mailing: tuple[Comments, Mailbox], new_context: Any
) -> None:
    comments, box = mailing
    site = await comments.site(moderation="all")
    a = await open_page(await new_context(), comments.article(site, "held"))
    await ask(a, "A question held for review", "Bedevere", held=True)
    form = offer(a)
    await expect(form).to_be_visible()  # a held comment's author is offered mail too
    # The browser takes it as an address; the server does not (no dot in the domain).
    await form.get_by_label("Your e-mail address").fill("bedevere@localhost")
    await form.get_by_role("button", name="Notify me").click()
    await expect(form.get_by_role("alert")).to_have_text("Please enter a valid e-mail address.")
    assert box.to("bedevere@localhost") == []
    # Starting another comment: the offer goes.
    await a.get_by_label("Comment", exact=True).press_sequentially("And another")
    await expect(form).to_be_hidden()
    # Escape dismisses it too, after the next post.
    await a.get_by_role("button", name="Submit").click()
    await expect(form).to_be_visible()
    await form.get_by_label("Your e-mail address").press("Escape")
    await expect(form).to_be_hidden()
    await expect(a.get_by_label("Comment", exact=True)).to_be_focused()


async def test_without_mail_the_widget_offers_no_address_field(
    comments: Comments, new_context: Any
) -> None:
    site = await comments.site()
    a = await open_page(await new_context(), comments.article(site, "nomail"))
    await ask(a, "Anyone here?", "Lancelot")
    # The third chunk is there (the bell shows), and still no offer.
    await expect(bell(a)).to_be_visible()
    await expect(widget(a).get_by_role("status").first).to_contain_text("Thank you")
    await expect(offer(a)).to_have_count(0)
    await expect(widget(a).get_by_label("Your e-mail address")).to_have_count(0)
