"""Owners invite moderators by an e-mailed link: nobody gets a site without accepting it,
nobody but the reader of that mailbox can accept it, and an owner never chooses a password
or learns whether an address has an account."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from server.app import create_app
from server.core.context import command_services
from server.core.erasure import forget_old_data
from server.core.moderators import add_moderator
from server.core.passwords import hasher
from server.core.sites import add_site
from server.store.database import SqlStore
from server.store.schema import moderators
from tests.support.api import Api, Clock
from tests.support.config import BACKENDS, SECRET, remove_moderator, settings_for
from tests.support.db import Databases
from tests.support.moderation import PASSWORD, Mod
from tests.support.services import free_port
from tests.test_notify import Mailbox

THEIR_OWN = "a password the invitee chose for themselves"


@dataclass
class World:
    app: Any
    store: SqlStore
    mailbox: Mailbox
    clock: Clock

    def browser(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=("203.0.113.7", 5000))
        return httpx.AsyncClient(
            transport=transport, base_url="http://test", follow_redirects=False
        )

    async def moderator(self, email: str, *sites: str, owner: bool = False) -> Mod:
        for site in sites:
            await add_moderator(
                command_services(self.store, SECRET),
                hasher("test"),
                email,
                site,
                password=PASSWORD,
                owner=owner,
            )
        mod = Mod(self.browser(), email)
        assert (await mod.login()).status_code == 303
        return mod

    async def link_sent_to(self, email: str) -> str:
        await self.mailbox.got.wait()
        self.mailbox.got.clear()
        message = self.mailbox.messages[-1]
        assert message["To"] == email
        found = re.search(r"http://test(/moderate/join/[A-Za-z0-9_-]+)", message.get_content())
        assert found is not None, message.get_content()
        return found.group(1)

    async def accounts(self) -> int:
        async with self.store.read() as tx:
            return int(
                (await tx.conn.execute(select(func.count()).select_from(moderators))).scalar_one()
            )


@pytest.fixture(params=BACKENDS)
async def world(
    request: pytest.FixtureRequest, databases: Databases, tmp_path: Path
) -> AsyncIterator[World]:
    url = await databases.create(request.param)
    store = SqlStore(url)
    for site in ("mine", "theirs"):
        await add_site(command_services(store, SECRET), site, origins=["https://blog.test"])
    port = free_port()
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    clock = Clock()
    app = create_app(
        settings_for(
            url,
            tmp_path,
            smtp_url=f"smtp://127.0.0.1:{port}",
            smtp_from="comments@blog.test",
            public_url="http://test",
        ),
        clock=clock,
    )
    try:
        async with app.router.lifespan_context(app):
            yield World(app, store, mailbox, clock)
    finally:
        smtp.stop()
        await store.close()


async def invite(
    by: Mod, email: str, site: str = "mine", *, as_owner: bool = False
) -> httpx.Response:
    form = {"csrf": by.csrf, "email": email, **({"owner": "1"} if as_owner else {})}
    return await by.http.post(
        f"/moderate/sites/{site}/moderators", data=form, headers={"Accept": "application/json"}
    )


async def form_token(http: httpx.AsyncClient, link: str) -> str:
    page = await http.get(link)
    assert page.status_code == 200, page.text[:300]
    found = re.search(
        r'action="[^"]*/decline"[^>]*>\s*<input type="hidden" name="csrf" '
        r'value="([^"]+)"',
        page.text,
    )
    assert found is not None
    return found.group(1)


async def test_an_invitation_answers_the_same_whatever_the_address(world: World) -> None:
    owner = await world.moderator("owner@example.com", "mine", owner=True)
    elsewhere = await world.moderator("elsewhere@example.com", "theirs")
    before = await world.accounts()
    existing = await invite(owner, "elsewhere@example.com")
    await world.link_sent_to("elsewhere@example.com")
    fresh = await invite(owner, "newcomer@example.com")
    await world.link_sent_to("newcomer@example.com")
    assert (existing.status_code, fresh.status_code) == (200, 200)
    assert existing.json() == {"invited": "elsewhere@example.com"}
    assert fresh.json() == {"invited": "newcomer@example.com"}
    assert await world.accounts() == before  # an invitation creates no account
    settings = (await owner.http.get("/moderate/sites/mine")).text
    assert settings.count("invited, not accepted yet") == 2
    assert "password" not in settings.split("Invite a moderator")[1].split("</form>")[0]
    denied = await elsewhere.http.get("/moderate", params={"site": "mine"})
    assert denied.status_code == 403  # offered, not granted


async def test_the_invited_account_accepts_by_logging_in(world: World) -> None:
    owner = await world.moderator("owner@example.com", "mine", owner=True)
    await invite(owner, "elsewhere@example.com", as_owner=True)
    link = await world.link_sent_to("elsewhere@example.com")
    async with world.browser() as http:  # not logged in: log in, then accept
        page = (await http.get(link)).text
        assert "Log in as elsewhere@example.com to accept" in page
    invited = await world.moderator("elsewhere@example.com", "theirs")
    assert "Create my account" not in (await invited.http.get(link)).text
    r = await invited.http.post(
        link + "/accept", data={"csrf": invited.csrf}, headers={"Accept": "application/json"}
    )
    assert r.json() == {"site": "mine", "role": "owner"}
    assert (await invited.http.get("/moderate/sites/mine")).status_code == 200
    again = await invited.http.post(
        link + "/accept", data={"csrf": invited.csrf}, headers={"Accept": "application/json"}
    )
    assert again.status_code == 404  # used once


async def test_a_new_address_creates_its_own_account_from_the_link(world: World) -> None:
    owner = await world.moderator("owner@example.com", "mine", owner=True)
    await invite(owner, "newcomer@example.com")
    link = await world.link_sent_to("newcomer@example.com")
    async with world.browser() as http:
        r = await http.post(
            link, data={"csrf": await form_token(http, link), "password": THEIR_OWN}
        )
        assert r.status_code == 303 and r.headers["location"] == "/moderate"
        assert (await http.get("/moderate", params={"site": "mine"})).status_code == 200
    async with world.browser() as http:
        newcomer = Mod(http, "newcomer@example.com")
        assert (await newcomer.login(THEIR_OWN)).status_code == 303


async def test_an_existing_address_must_log_in_and_keeps_its_password(world: World) -> None:
    owner = await world.moderator("owner@example.com", "mine", owner=True)
    await world.moderator("elsewhere@example.com", "theirs")
    await invite(owner, "elsewhere@example.com")
    link = await world.link_sent_to("elsewhere@example.com")
    async with world.browser() as http:
        r = await http.post(
            link,
            data={"csrf": await form_token(http, link), "password": "an attacker's new password"},
        )
        assert r.status_code == 409
        assert "already has an account: log in to accept" in r.text
    async with world.browser() as http:
        assert (await Mod(http, "elsewhere@example.com").login(PASSWORD)).status_code == 303
        assert (
            await Mod(http, "elsewhere@example.com").login("an attacker's new password")
        ).status_code == 401


async def test_the_link_s_forms_need_the_page_s_own_token(world: World) -> None:
    owner = await world.moderator("owner@example.com", "mine", owner=True)
    await invite(owner, "newcomer@example.com")
    link = await world.link_sent_to("newcomer@example.com")
    async with world.browser() as http:
        for action in ("", "/decline"):
            r = await http.post(link + action, data={"csrf": "forged", "password": THEIR_OWN})
            assert r.status_code == 403 and "The form expired" in r.text
        assert (await http.get(link)).status_code == 200  # still standing
    assert await world.accounts() == 1


async def test_only_the_invited_address_may_accept(world: World) -> None:
    owner = await world.moderator("owner@example.com", "mine", owner=True)
    await invite(owner, "elsewhere@example.com")
    link = await world.link_sent_to("elsewhere@example.com")
    other = await world.moderator("someone.else@example.com", "theirs")
    r = await other.http.post(
        link + "/accept", data={"csrf": other.csrf}, headers={"Accept": "application/json"}
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "invitation_for_another_address"


async def test_an_invitation_ends_with_its_senders_ownership_and_after_a_week(world: World) -> None:
    owner = await world.moderator("owner@example.com", "mine", owner=True)
    await invite(owner, "first@example.com")
    first = await world.link_sent_to("first@example.com")
    await remove_moderator(world.store, "owner@example.com", "mine")  # the sender loses it
    async with world.browser() as http:
        assert (await http.get(first)).status_code == 404
    owner = await world.moderator("owner2@example.com", "mine", owner=True)
    await invite(owner, "second@example.com")
    second = await world.link_sent_to("second@example.com")
    world.clock.offset = 8 * 86400
    try:
        async with world.browser() as http:
            assert (await http.get(second)).status_code == 404
        await forget_old_data(world.app.state.tl.services)  # the hourly clean-up
        async with world.store.read() as tx:
            assert await tx.site_invitations("mine") == []  # the address is forgotten
    finally:
        world.clock.offset = 0


async def test_an_invitation_is_declined_or_withdrawn(world: World) -> None:
    owner = await world.moderator("owner@example.com", "mine", owner=True)
    await invite(owner, "first@example.com")
    first = await world.link_sent_to("first@example.com")
    async with world.browser() as http:
        r = await http.post(first + "/decline", data={"csrf": await form_token(http, first)})
        assert r.status_code == 303
        assert (await http.get(first)).status_code == 404
    await invite(owner, "second@example.com")
    second = await world.link_sent_to("second@example.com")
    settings = (await owner.http.get("/moderate/sites/mine")).text
    withdraw = re.search(r'action="(/moderate/sites/mine/invitations/\d+/withdraw)"', settings)
    assert withdraw is not None
    r = await owner.http.post(
        withdraw.group(1), data={"csrf": owner.csrf}, headers={"Accept": "application/json"}
    )
    assert r.json() == {"withdrawn": True}
    async with world.browser() as http:
        assert (await http.get(second)).status_code == 404


async def test_invitation_links_point_at_the_public_url_whatever_host_was_asked(
    world: World,
) -> None:
    owner = await world.moderator("owner@example.com", "mine", owner=True)
    r = await owner.http.post(
        "/moderate/sites/mine/moderators",
        data={"csrf": owner.csrf, "email": "newcomer@example.com"},
        headers={"Accept": "application/json", "Host": "evil.test"},
    )
    assert r.status_code == 200
    await world.link_sent_to("newcomer@example.com")  # found under http://test, not evil.test
    assert "evil.test" not in world.mailbox.messages[-1].get_content()


async def test_without_a_public_url_no_invitation_is_sent_whatever_the_host(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.create("sqlite")
    store = SqlStore(url)
    await add_site(command_services(store, SECRET), "mine", origins=["https://blog.test"])
    await add_moderator(
        command_services(store, SECRET),
        hasher("test"),
        "owner@example.com",
        "mine",
        password=PASSWORD,
        owner=True,
    )
    port = free_port()
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    app = create_app(settings_for(url, tmp_path, smtp_url=f"smtp://127.0.0.1:{port}"))
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5000))
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                owner = Mod(http, "owner@example.com")
                assert (await owner.login()).status_code == 303
                r = await owner.http.post(
                    "/moderate/sites/mine/moderators",
                    data={"csrf": owner.csrf, "email": "newcomer@example.com"},
                    headers={"Accept": "application/json", "Host": "evil.test"},
                )
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "invitations_need_email"
        assert mailbox.messages == []
    finally:
        smtp.stop()
        await store.close()


async def test_without_e_mail_owners_are_sent_to_the_operator(api: Api, make_mod: Any) -> None:
    site = await api.new_site()
    async with make_mod(site, owner=True) as owner:
        r = await invite(owner, "someone@example.com", site)
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "invitations_need_email"
        assert "threadline moderator add" in (await owner.http.get(f"/moderate/sites/{site}")).text
