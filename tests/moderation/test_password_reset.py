"""A forgotten password is reset by an e-mailed link: the same answer whatever the address,
a link that works once, within an hour, to THREADLINE_PUBLIC_URL only, and nothing from
before (sessions, older links, the old password) working afterwards."""

from __future__ import annotations

import asyncio
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
from server.core.errors import Invalid, NotFound
from server.core.moderators import add_moderator, set_moderator_password
from server.core.passwords import hasher
from server.core.sites import add_site
from server.store.database import SqlStore
from server.store.schema import password_resets
from tests.support.api import Clock
from tests.support.config import BACKENDS, SECRET, settings_for
from tests.support.db import Databases
from tests.support.moderation import PASSWORD, Mod
from tests.support.services import free_port
from tests.test_notify import Mailbox

PUBLIC = "https://comments.example"
NEW = "a brand new password, chosen today"


@dataclass
class World:
    app: Any
    store: SqlStore
    mailbox: Mailbox
    clock: Clock

    def browser(self, **headers: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=("203.0.113.7", 5000))
        return httpx.AsyncClient(
            transport=transport, base_url="http://test", follow_redirects=False, headers=headers
        )

    async def moderator(self, email: str) -> Mod:
        await add_moderator(
            command_services(self.store, SECRET), hasher("test"), email, "mine", password=PASSWORD
        )
        mod = Mod(self.browser(), email)
        assert (await mod.login()).status_code == 303
        return mod

    async def link_sent_to(self, email: str) -> str:
        await asyncio.wait_for(self.mailbox.got.wait(), 10)
        self.mailbox.got.clear()
        message = self.mailbox.messages[-1]
        assert message["To"] == email
        found = re.search(
            re.escape(PUBLIC) + r"(/moderate/reset/[A-Za-z0-9_-]+)", message.get_content()
        )
        assert found is not None, message.get_content()
        return found.group(1)

    async def links(self) -> int:
        async with self.store.read() as tx:
            return int(
                (
                    await tx.conn.execute(select(func.count()).select_from(password_resets))
                ).scalar_one()
            )


async def world_of(
    databases: Databases, backend: str, tmp_path: Path, **settings: Any
) -> AsyncIterator[World]:
    url = await databases.create(backend)
    store = SqlStore(url)
    await add_site(command_services(store, SECRET), "mine", origins=["https://blog.test"])
    port = free_port()
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    clock = Clock()
    settings = {
        "smtp_url": f"smtp://127.0.0.1:{port}",
        "smtp_from": "comments@blog.test",
        **settings,
    }
    app = create_app(settings_for(url, tmp_path, **settings), clock=clock)
    try:
        async with app.router.lifespan_context(app):
            yield World(app, store, mailbox, clock)
    finally:
        smtp.stop()
        await store.close()


@pytest.fixture(params=BACKENDS)
async def world(
    request: pytest.FixtureRequest, databases: Databases, tmp_path: Path
) -> AsyncIterator[World]:
    async for made in world_of(databases, request.param, tmp_path, public_url=PUBLIC):
        yield made


async def form_token(http: httpx.AsyncClient, path: str) -> str:
    page = await http.get(path)
    assert page.status_code == 200, page.text[:300]
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


async def ask(http: httpx.AsyncClient, email: str) -> httpx.Response:
    return await http.post(
        "/moderate/reset", data={"csrf": await form_token(http, "/moderate/reset"), "email": email}
    )


async def test_asking_for_a_link_answers_the_same_whatever_the_address(world: World) -> None:
    await world.moderator("known@example.com")
    async with world.browser() as http:
        assert 'href="/moderate/reset"' in (await http.get("/moderate/login")).text
        forged = await http.post(
            "/moderate/reset", data={"csrf": "forged", "email": "known@example.com"}
        )
        assert forged.status_code == 403 and "The form expired" in forged.text
        unknown = await ask(http, "nobody@example.com")
        known = await ask(http, "known@example.com")
    assert (unknown.status_code, known.status_code) == (200, 200)
    assert unknown.text.replace("nobody@", "known@") == known.text
    assert "a link to choose a new password is on its way" in known.text
    await world.link_sent_to("known@example.com")
    await asyncio.sleep(0.2)
    assert [m["To"] for m in world.mailbox.messages] == ["known@example.com"]
    assert await world.links() == 1


async def test_a_link_sets_a_new_password_once_and_ends_every_old_session(world: World) -> None:
    mod = await world.moderator("forgetful@example.com")
    assert (await mod.http.get("/moderate")).status_code == 200  # a session from before
    async with world.browser() as http:
        await ask(http, "forgetful@example.com")
        link = await world.link_sent_to("forgetful@example.com")
        page = await http.get(link)
        assert page.status_code == 200 and "For forgetful@example.com." in page.text
        short = await http.post(
            link, data={"csrf": await form_token(http, link), "password": "short"}
        )
        assert short.status_code == 422 and "at least 10 characters" in short.text
        forged = await http.post(link, data={"csrf": "forged", "password": NEW})
        assert forged.status_code == 403
        r = await http.post(link, data={"csrf": await form_token(http, link), "password": NEW})
        assert r.status_code == 303 and r.headers["location"] == "/moderate"
        queue = await http.get("/moderate")
        assert queue.status_code == 200 and "Your new password is set." in queue.text
        again = await http.get(link)
        assert again.status_code == 404 and "does not work any more" in again.text
    assert (await mod.http.get("/moderate")).status_code == 303  # logged out everywhere
    async with world.browser() as http:
        assert (await Mod(http, "forgetful@example.com").login(PASSWORD)).status_code == 401
        assert (await Mod(http, "forgetful@example.com").login(NEW)).status_code == 303
    assert await world.links() == 0


async def test_only_the_newest_link_works_and_only_for_an_hour(world: World) -> None:
    await world.moderator("twice@example.com")
    async with world.browser() as http:
        await ask(http, "twice@example.com")
        first = await world.link_sent_to("twice@example.com")
        await ask(http, "twice@example.com")
        second = await world.link_sent_to("twice@example.com")
        assert (await http.get(first)).status_code == 404
        assert (await http.get(second)).status_code == 200
        world.clock.offset = 3601
        try:
            assert (await http.get(second)).status_code == 404
            await forget_old_data(world.app.state.tl.services)  # the hourly clean-up
            assert await world.links() == 0
        finally:
            world.clock.offset = 0


async def test_asking_is_limited_the_same_for_every_address(world: World) -> None:
    await world.moderator("popular@example.com")
    async with world.browser() as http:
        for email in ("popular@example.com", "ghost@example.com"):
            for _ in range(3):
                assert (await ask(http, email)).status_code == 200
            limited = await ask(http, email)
            assert limited.status_code == 429 and "try again in an hour" in limited.text
    await world.mailbox.wait_for_count(3)
    await asyncio.sleep(0.2)  # and no fourth follows
    assert len(world.mailbox.messages) == 3


async def test_the_link_goes_to_the_public_url_whatever_host_was_asked(world: World) -> None:
    await world.moderator("target@example.com")
    async with world.browser(host="evil.example") as http:
        r = await ask(http, "target@example.com")
        assert r.status_code == 200
    link = await world.link_sent_to("target@example.com")  # asserts the PUBLIC_URL origin
    assert link.startswith("/moderate/reset/")
    assert "evil.example" not in world.mailbox.messages[-1].get_content()


@pytest.mark.parametrize("missing", ["public_url", "smtp_url"])
async def test_without_e_mail_or_a_public_url_the_operator_resets_passwords(
    databases: Databases, tmp_path: Path, missing: str
) -> None:
    settings = {"public_url": PUBLIC, missing: None}
    async for world in world_of(databases, "sqlite", tmp_path, **settings):
        await world.moderator("stuck@example.com")
        async with world.browser() as http:
            assert 'href="/moderate/reset"' not in (await http.get("/moderate/login")).text
            page = await http.get("/moderate/reset")
            assert "threadline moderator passwd" in page.text and "<form" not in page.text
            r = await http.post("/moderate/reset", data={"csrf": "", "email": "stuck@example.com"})
            assert r.status_code == 404
        await asyncio.sleep(0.2)
        assert world.mailbox.messages == [] and await world.links() == 0


async def test_a_password_changed_by_the_operator_ends_sessions_and_links(world: World) -> None:
    """core.moderators.set_moderator_password, for `threadline moderator passwd`."""
    mod = await world.moderator("changed@example.com")
    async with world.browser() as http:
        await ask(http, "changed@example.com")
        link = await world.link_sent_to("changed@example.com")
        await set_moderator_password(
            command_services(world.store, SECRET), hasher("test"), "Changed@Example.com ", NEW
        )
        assert (await http.get(link)).status_code == 404
        assert (await Mod(http, "changed@example.com").login(NEW)).status_code == 303
    assert (await mod.http.get("/moderate")).status_code == 303
    with pytest.raises(NotFound):
        await set_moderator_password(
            command_services(world.store, SECRET), hasher("test"), "nobody@example.com", NEW
        )
    with pytest.raises(Invalid):
        await set_moderator_password(
            command_services(world.store, SECRET), hasher("test"), "changed@example.com", "short"
        )
