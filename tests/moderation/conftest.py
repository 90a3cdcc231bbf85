"""Moderator clients for the in-process app and real servers, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from server.core.context import command_services
from server.core.moderators import add_moderator
from server.core.passwords import hasher
from tests.support.api import Api
from tests.support.config import SECRET
from tests.support.moderation import (
    PASSWORD,
    Mod,
    client_for,
    people_numbers,
)


@pytest.fixture
def make_mod(api: Api) -> Callable[..., Any]:
    """Create a moderator of some sites, logged in, as its own browser."""

    @asynccontextmanager
    async def make(*sites: str, owner: bool = False, login: bool = True) -> AsyncIterator[Mod]:
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

    return make
