"""A live reader's subscribe is what makes a page's row, and one network may make only
NEW_PAGES_PER_MINUTE of them a minute. A crowd opening one new page together (a breaking
story, readers behind one address) makes one page and is charged one: each reader that
found it missing used to take one, and those past the limit were refused their join."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from server.core.context import Services, command_services
from server.core.errors import RateLimited
from server.core.privacy import ip_hash
from server.core.sites import add_site
from server.core.threads import NEW_PAGES_PER_MINUTE, page_for_subscriber
from server.store.database import SqlStore
from tests.support.config import BACKENDS, SECRET
from tests.support.core import core_services
from tests.support.db import Databases

NETWORK = "198.51.100.9"


@pytest.fixture(params=BACKENDS)
async def services(request: pytest.FixtureRequest, databases: Databases) -> AsyncIterator[Services]:
    store = SqlStore(await databases.create(request.param))
    await add_site(command_services(store, SECRET), "s", origins=["https://blog.test"])
    yield core_services(store)
    await store.close()


async def test_a_crowd_opening_one_new_page_makes_it_once_and_is_charged_once(
    services: Services,
) -> None:
    async with services.store.read() as tx:
        site = await tx.find_site("s")
    assert site is not None
    crowd = NEW_PAGES_PER_MINUTE + 20
    opened = await asyncio.gather(
        *(page_for_subscriber(services, site, "/breaking", NETWORK) for _ in range(crowd))
    )
    assert len({page.id for page in opened}) == 1
    charged = f"newpage:s:{ip_hash(SECRET, NETWORK)}"
    assert await services.limiter.peek(charged) == 1
    # The crowd took one new page of the minute's budget: the rest are still there.
    for i in range(NEW_PAGES_PER_MINUTE - 1):
        await page_for_subscriber(services, site, f"/more-{i}", NETWORK)
    with pytest.raises(RateLimited):
        await page_for_subscriber(services, site, "/one-too-many", NETWORK)
    # A refused subscribe made nothing; a page that exists is never refused.
    async with services.store.read() as tx:
        assert await tx.find_page("s", "/one-too-many") is None
    assert (await page_for_subscriber(services, site, "/breaking", NETWORK)).id == opened[0].id
    assert await services.limiter.peek(charged) == NEW_PAGES_PER_MINUTE


async def test_the_insert_tells_whether_this_transaction_made_the_page(services: Services) -> None:
    """Whoever finds the page made already (and so is not charged) is told by the insert."""
    async with services.store.write() as tx:
        assert await tx.insert_page("s", "/made", 0)
        assert not await tx.insert_page("s", "/made", 0)
