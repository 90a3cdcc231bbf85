"""The fan-out reads each page's events after its cursor (issue #18, migration 0013): a
post writes nothing for it, every posted comment is read once, two processes never read a
page at once, and a comment leaving public view waits for a fan-out of its page under way,
so what it withdraws is never told after. Real stores, both databases."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from server.core import notifications as notifications_of
from server.core.author_changes import delete_comment
from server.core.comments import Draft, post_comment
from server.core.context import Limits, Services, command_services
from server.core.fanout import MAX_AGE_MS, fan_out
from server.core.models import Site
from server.core.sites import SiteDirectory, add_site
from server.fanout_worker import TRIES, FanOutWorker
from server.store.database import SqlStore
from server.store.schema import events, fanout_cursors, notifications
from tests.support.config import BACKENDS, SECRET
from tests.support.core import core_services
from tests.support.db import Databases


@dataclass
class World:
    svc: Services
    store: SqlStore
    site: Site
    backend: str
    offset: float = 0.0


@pytest.fixture(params=BACKENDS)
async def world(request: pytest.FixtureRequest, databases: Databases) -> AsyncIterator[World]:
    async for made in _world(request.param, databases):
        yield made


@pytest.fixture
async def pg_world(databases: Databases) -> AsyncIterator[World]:
    """PostgreSQL only: SQLite's writers queue on the database's lock, there is no at once."""
    async for made in _world("postgresql", databases):
        yield made


async def _world(backend: str, databases: Databases) -> AsyncIterator[World]:
    store = SqlStore(await databases.create(backend))
    await add_site(command_services(store, SECRET), "s", origins=["https://blog.test"])
    svc = core_services(store, Limits(rate_limit=0, min_submit_ms=0))
    world = World(svc, store, await SiteDirectory(store).get("s"), backend)
    svc.clock = lambda: time.time() + world.offset
    yield world
    await store.close()


async def _post(world: World, network: int, parent: int | None = None) -> tuple[int, int]:
    """(comment id, page id) of a post from its own network."""
    comment, page, _ = await _post_as(world, network, parent)
    return comment, page


async def _post_as(world: World, network: int, parent: int | None = None) -> tuple[int, int, str]:
    """(comment id, page id, author token) of a post from its own network."""
    result = await post_comment(
        world.svc,
        world.site,
        Draft(page="p", body=f"from {network} to {parent}", parent=parent),
        token=None,
        client_ip=f"198.51.{network}.1",
    )
    assert result.author_token is not None
    return result.comment.id, result.page.id, result.author_token


async def _told(world: World) -> int:
    async with world.store.read() as tx:
        return int(
            (await tx.conn.execute(select(func.count()).select_from(notifications))).scalar_one()
        )


async def test_each_posted_comment_is_read_once_and_the_cursor_follows_the_page(
    world: World,
) -> None:
    question, page = await _post(world, 1)
    assert (await fan_out(world.svc, [page])).comments == 1
    for n in range(3):
        await _post(world, 2 + n, parent=question)
    done = await fan_out(world.svc, [page])
    assert (done.comments, done.later) == (3, set())
    assert await _told(world) == 3
    assert (await fan_out(world.svc, [page])).comments == 0  # nothing read twice
    assert (await fan_out(world.svc)).comments == 0
    async with world.store.read() as tx:
        assert await tx.lagging_pages(10) == []
        cursor = (await tx.conn.execute(select(fanout_cursors.c.seq))).scalar_one()
    assert cursor == 4


async def test_a_batch_stops_at_its_limit_and_the_page_is_read_on_later(world: World) -> None:
    question, page = await _post(world, 1)
    for n in range(5):
        await _post(world, 2 + n, parent=question)
    first = await fan_out(world.svc, [page], limit=4)
    assert (first.comments, first.later) == (4, {page})
    second = await fan_out(world.svc, [page], limit=4)
    assert (second.comments, second.later) == (2, set())
    assert await _told(world) == 5


async def test_a_page_whose_events_are_an_hour_old_is_passed_over(world: World) -> None:
    # Posted while nobody read the page (notifications off, or its process died and nobody
    # posted there since): an hour later it is news to nobody.
    question, _ = await _post(world, 1)
    await _post(world, 2, parent=question)
    world.offset = MAX_AGE_MS / 1000 + 1
    assert (await fan_out(world.svc)).comments == 2  # found by the look for pages behind
    assert await _told(world) == 0
    async with world.svc.store.read() as tx:
        assert await tx.lagging_pages(10) == []


async def test_two_fan_outs_never_read_one_page_at_once(pg_world: World) -> None:
    world = pg_world
    question, page = await _post(world, 1)
    await fan_out(world.svc, [page])  # the page's cursor exists (a new one's insert waits)
    await _post(world, 2, parent=question)
    async with world.svc.store.write() as tx:
        held = await tx.claim_fanout([page])
        assert [p.page_id for p in held] == [page]
        other = await fan_out(world.svc, [page])  # another process, meanwhile
        assert (other.comments, other.later) == (0, {page})
    async with world.store.write() as tx:
        await tx.lock_fanout([page])  # an author's delete or an erasure, under way
        other = await fan_out(world.svc, [page])
        assert (other.comments, other.later) == (0, {page})
    assert (await fan_out(world.svc, [page])).comments == 1
    assert await _told(world) == 1


async def test_a_reply_deleted_while_its_page_is_fanned_out_waits_and_stays_untold(
    world: World,
) -> None:
    # Fails without the page's fan-out lock the deletion takes first: it commits while the
    # fan-out holds the reply, withdraws nothing (there is nothing yet), and the fan-out
    # then tells the question's author of a reply that is gone. (The question and both
    # replies are in one batch: a lock order that deadlocked on the question's reply count
    # would show here.)
    question, page = await _post(world, 1)
    await fan_out(world.svc, [page])  # the page's cursor exists
    reply, _ = await _post(world, 2, parent=question)
    second, _, author = await _post_as(world, 3, parent=question)

    def delete() -> Any:
        return delete_comment(world.svc, world.site, second, token=author, client_ip="198.51.3.1")

    deleted: asyncio.Task[Any] | None = None
    async with world.svc.store.write() as tx:
        claimed = await tx.claim_fanout([page])
        found = await tx.published_between(page, claimed[0].after, claimed[0].upto, 10)
        assert [told.id for _, told in found] == [reply, second]
        if world.backend == "postgresql":
            deleted = asyncio.create_task(delete())  # its author deletes it, meanwhile
            await asyncio.sleep(0.3)
            assert not deleted.done()  # it waits for this fan-out to commit
        now = world.svc.now_ms()
        await tx.add_notifications(
            [
                row
                for _, told in found
                for row in notifications_of.reply_rows(told, told.answered_authors(), now)
            ]
        )
        await tx.advance_fanout({page: claimed[0].upto})
    if deleted is not None:
        await deleted
    else:
        await delete()
    async with world.store.read() as tx:
        about = (
            (await tx.conn.execute(select(notifications.c.comment_id).order_by(notifications.c.id)))
            .scalars()
            .all()
        )
    assert list(about) == [reply]  # the deleted reply's notification went with it


async def test_what_another_process_or_a_command_posted_is_found_within_a_poll(
    world: World,
) -> None:
    # The worker is woken by its own process's posts only; a reply posted elsewhere (here,
    # through core with nothing to wake) is found by the poll of the events' primary key.
    worker = FanOutWorker(world.svc)
    await worker.look_elsewhere()  # the newest event id so far
    question, _ = await _post(world, 1)
    await _post(world, 2, parent=question)
    await worker.look_elsewhere()
    await worker.run_once()
    assert await _told(world) == 1
    await worker.look_elsewhere()
    assert worker._pages == {}  # a page read to the end is not woken again

    # An event whose id was taken before the newest a poll saw, committed after it (two
    # processes posting at once): a later poll still finds its page, from ids back.
    _, page = await _post(world, 3, parent=question)
    async with world.store.read() as tx:
        newest = (await tx.conn.execute(select(func.max(events.c.id)))).scalar_one()
    worker._seen = newest + 5  # as if ids up to here were seen, this one not yet committed
    await worker.look_elsewhere()
    assert worker._pages == {page: TRIES}
    await worker.run_once()
    assert await _told(world) == 2
