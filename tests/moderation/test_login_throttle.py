"""Password guessing: attempts are reserved before a password is checked, per account and
network, so concurrency cannot outrun the limit and failures elsewhere lock nobody out."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from argon2 import PasswordHasher

from server.app import create_app
from server.core.context import command_services
from server.core.moderators import add_moderator
from server.core.passwords import hasher
from server.core.sites import add_site
from server.store.database import SqlStore
from tests.support.config import SECRET, settings_for
from tests.support.db import Databases
from tests.support.moderation import PASSWORD


class CountingHasher(PasswordHasher):
    """The app's own hasher, counting how many passwords it was asked to check."""

    def __init__(self, inner: PasswordHasher) -> None:
        super().__init__(
            time_cost=inner.time_cost,
            memory_cost=inner.memory_cost,
            parallelism=inner.parallelism,
            hash_len=inner.hash_len,
            salt_len=inner.salt_len,
        )
        self.verified = 0
        self._lock = threading.Lock()  # verify runs on worker threads, two at a time

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self._lock:
            self.verified += 1
        return super().verify(hash, password)


@pytest.fixture(params=[("sqlite", "memory"), ("postgresql", "redis")], ids=lambda p: "-".join(p))
def login_app(
    request: pytest.FixtureRequest, databases: Databases, tmp_path: Path
) -> Callable[[], AbstractAsyncContextManager[Any]]:
    """An app with one owner, on SQLite with the in-process limiter, or on PostgreSQL with
    the attempts counted in a real Redis (where concurrent reservations really race)."""
    backend, broker = request.param
    redis_url = request.getfixturevalue("redis_server").scratch_url() if broker == "redis" else None

    @asynccontextmanager
    async def running() -> AsyncIterator[Any]:
        url = await databases.create(backend)
        store = SqlStore(url)
        await add_site(command_services(store, SECRET), "guarded", origins=["https://blog.test"])
        await add_moderator(
            command_services(store, SECRET),
            hasher("test"),
            "owner@example.com",
            "guarded",
            password=PASSWORD,
            owner=True,
        )
        await store.close()
        app = create_app(settings_for(url, tmp_path, redis_url=redis_url))
        async with app.router.lifespan_context(app):
            yield app

    return running


class Browser:
    """A client on one network with the login form open, as a browser keeps it: each answer
    renders the form again with a fresh token, which the next attempt sends."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.token = ""

    def read_form(self, html: str) -> None:
        found = re.search(r'name="csrf" value="([^"]+)"', html)
        assert found is not None
        self.token = found.group(1)

    async def attempt(self, password: str, email: str = "owner@example.com") -> int:
        r = await self.http.post(
            "/moderate/login", data={"email": email, "password": password, "csrf": self.token}
        )
        if r.status_code != 303:
            self.read_form(r.text)
        return r.status_code


@asynccontextmanager
async def browser(app: Any, ip: str) -> AsyncIterator[Browser]:
    transport = httpx.ASGITransport(app=app, client=(ip, 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        opened = Browser(http)
        opened.read_form((await http.get("/moderate/login")).text)
        yield opened


async def test_fifty_simultaneous_logins_verify_at_most_five_passwords(login_app: Any) -> None:
    async with login_app() as app:
        counting = CountingHasher(app.state.tl.passwords)
        app.state.tl.passwords = counting
        async with browser(app, "198.51.100.20") as form:
            # Fifty guesses sent at once, all with the one form the attacker loaded.
            cookies = dict(form.http.cookies)
            transport = httpx.ASGITransport(app=app, client=("198.51.100.20", 5000))

            async def guess(password: str) -> int:
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://test", cookies=cookies
                ) as http:
                    r = await http.post(
                        "/moderate/login",
                        data={
                            "email": "owner@example.com",
                            "password": password,
                            "csrf": form.token,
                        },
                    )
                    return r.status_code

            # All wrong: a right one among them may be reserved first under load, and its
            # success rightly starts the account's count over (the owner is in), which let
            # five more through and made this test fail on a busy machine.
            guesses = [f"guess number {i}" for i in range(50)]
            statuses = await asyncio.gather(*(guess(g) for g in guesses))
            # Exactly five reserved an attempt and were checked; the rest never were.
            assert counting.verified == 5
            assert sorted(statuses) == [401] * 5 + [429] * 45
            # ... and the right password, next, finds the account locked for this network.
            assert await guess(PASSWORD) == 429
            assert counting.verified == 5


async def test_failures_from_elsewhere_do_not_lock_the_owner_out_of_their_network(
    login_app: Any,
) -> None:
    async with login_app() as app:
        async with browser(app, "198.51.100.20") as attacker:
            for i in range(5):
                assert await attacker.attempt(f"wrong {i}") == 401
            assert await attacker.attempt(PASSWORD) == 429  # that network is locked out
        async with browser(app, "203.0.113.50") as owner:
            assert await owner.attempt(PASSWORD) == 303


async def test_a_network_is_limited_across_accounts(login_app: Any) -> None:
    async with login_app() as app, browser(app, "198.51.100.20") as form:
        for i in range(20):
            assert await form.attempt("wrong", email=f"someone{i}@example.com") == 401
        assert await form.attempt(PASSWORD) == 429


async def test_a_successful_login_gives_the_network_its_attempt_back(login_app: Any) -> None:
    async with login_app() as app:
        for _ in range(25):
            async with browser(app, "198.51.100.20") as form:
                assert await form.attempt(PASSWORD) == 303


async def test_guesses_spread_over_many_networks_are_bounded_but_spare_known_devices(
    login_app: Any,
) -> None:
    async with login_app() as app:
        # The owner logged in from this browser before the attack: a known device.
        async with browser(app, "203.0.113.50") as owner:
            assert await owner.attempt(PASSWORD) == 303
            device = dict(owner.http.cookies)
        counting = CountingHasher(app.state.tl.passwords)
        app.state.tl.passwords = counting
        statuses = []
        for i in range(51):  # one guess from each of 51 networks
            async with browser(app, f"198.51.{i}.20") as attacker:
                statuses.append(await attacker.attempt(f"guess {i}"))
        assert statuses[:50] == [401] * 50 and statuses[50] == 429
        assert counting.verified == 50
        async with browser(app, "192.0.2.77") as stranger:  # right password, unknown browser
            assert await stranger.attempt(PASSWORD) == 429
        async with browser(app, "203.0.113.51") as known:
            known.http.cookies.update({"tl_device": device["tl_device"]})
            assert await known.attempt(PASSWORD) == 303
