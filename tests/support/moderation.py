"""A moderator's browser session: log in, CSRF, decide."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from server.core.context import command_services
from server.core.moderators import add_moderator
from server.core.passwords import hasher
from tests.support.api import Api
from tests.support.config import SECRET
from tests.support.net import CLIENT_IP

PASSWORD = "correct horse battery staple"


people_numbers = itertools.count(1)


@dataclass
class Mod:
    """One moderator's browser session: cookies, CSRF token, form posts."""

    http: httpx.AsyncClient
    email: str
    csrf: str = ""

    async def login(self, password: str = PASSWORD) -> httpx.Response:
        page = await self.http.get("/moderate/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token is not None, page.text[:500]
        r = await self.http.post(
            "/moderate/login",
            data={"email": self.email, "password": password, "csrf": token.group(1), "next": ""},
        )
        if r.status_code == 303:
            queue = await self.http.get("/moderate")
            found = re.search(r'name="csrf-token" content="([^"]+)"', queue.text)
            assert found is not None
            self.csrf = found.group(1)
        return r

    async def act(
        self, comment_id: int, action: str, expected: str | None = "pending", **form: str
    ) -> httpx.Response:
        data = {"csrf": self.csrf, **form}
        if expected:
            data["expected"] = expected
        return await self.http.post(
            f"/moderate/comments/{comment_id}/{action}",
            data=data,
            headers={"Accept": "application/json"},
        )

    async def queue(self, **params: str) -> str:
        r = await self.http.get("/moderate", params=params)
        assert r.status_code == 200, r.text[:300]
        return r.text


@asynccontextmanager
async def client_for(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh cookie jar on the same transport as ``api``."""
    shared = api.http._transport
    # Its own transport: closing this client must not close the API client's pool.
    transport = (
        httpx.ASGITransport(app=shared.app, client=("203.0.113.7", 5000))
        if isinstance(shared, httpx.ASGITransport)
        else httpx.AsyncHTTPTransport(local_address=CLIENT_IP)
    )
    async with httpx.AsyncClient(
        transport=transport, base_url=str(api.http.base_url), follow_redirects=False, timeout=30
    ) as http:
        yield http


@asynccontextmanager
async def moderator_of(
    api: Api, *sites: str, owner: bool = False, login: bool = True
) -> AsyncIterator[Mod]:
    """A new moderator of ``sites`` (their owner with ``owner``), logged in unless told
    not to, in a browser of their own."""
    email = f"mod{next(people_numbers)}@example.com"
    for site in sites:
        await add_moderator(
            command_services(api.store, SECRET),
            hasher("test"),
            email,
            site,
            password=PASSWORD,
            owner=owner,
        )
    async with client_for(api) as http:
        mod = Mod(http, email)
        if login:
            r = await mod.login()
            assert r.status_code == 303, r.text[:300]
        yield mod
