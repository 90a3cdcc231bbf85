"""A page's events are numbered gap-free and in commit order (issue #19, migration 0015).

On PostgreSQL the page's row lock that orders them is taken at COMMIT, not by a statement:
two transactions posting to one page run side by side until they commit, and each event's
``seq`` is the order of the commits. Real stores; SQLite numbers in the statement (its
writers queue on the database's lock anyway), and its numbers are checked too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from sqlalchemy import select

from server.broker.memory import MemoryBroker
from server.core.authors import AuthorTokens
from server.core.context import Limits, Services, command_services
from server.core.errors import Unavailable
from server.core.models import PENDING, Event
from server.core.sites import add_site
from server.store.database import SqlStore
from server.store.schema import events, pages
from tests.support.config import BACKENDS, SECRET
from tests.support.db import Databases
from tests.support.publishers import NoPublisher


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, databases: Databases) -> AsyncIterator[SqlStore]:
    made = SqlStore(await databases.create(request.param))
    await add_site(command_services(made, SECRET), "s", origins=["https://blog.test"])
    yield made
    await made.close()


@pytest.fixture
async def pg_store(databases: Databases) -> AsyncIterator[SqlStore]:
    made = SqlStore(await databases.create("postgresql"))
    await add_site(command_services(made, SECRET), "s", origins=["https://blog.test"])
    yield made
    await made.close()


async def _page(store: SqlStore) -> int:
    async with store.write() as tx:
        return (await tx.ensure_page("s", "/hot", None, None, 0)).id


async def _stored(store: SqlStore, page_id: int) -> list[tuple[int, int, int]]:
    async with store.read() as tx:
        rows = await tx.conn.execute(
            select(events.c.id, events.c.seq, events.c.comment_count)
            .where(events.c.page_id == page_id)
            .order_by(events.c.seq)
        )
        return [(int(r.id), int(r.seq), int(r.comment_count)) for r in rows]


async def test_posts_to_one_page_run_side_by_side_and_are_numbered_as_they_commit(
    pg_store: SqlStore,
) -> None:
    # Fails with the numbering by statement: the second append waits on the page's row
    # lock the first holds until its commit, which this test holds back.
    store = pg_store
    page_id = await _page(store)
    first_appended = asyncio.Event()
    release_first = asyncio.Event()

    async def first() -> int:
        async with store.write() as tx:
            appended = await tx.append_event(page_id, +1, "comment.created", 0, 1)
            assert (appended.page.seq, appended.page.count) == (PENDING, PENDING)
            first_appended.set()
            await release_first.wait()
            return appended.event_id

    holding = asyncio.create_task(first())
    await first_appended.wait()
    async with asyncio.timeout(10):  # never waits for the first one's commit
        async with store.write() as tx:
            second = (await tx.append_event(page_id, +1, "comment.created", 0, 2)).event_id
    release_first.set()
    first_id = await holding
    async with store.write() as tx:  # a deletion: the count moves down
        third = (await tx.append_event(page_id, -1, "comment.deleted", 0, 3)).event_id
    # Numbered in commit order: the second committed first.
    assert await _stored(store, page_id) == [(second, 1, 1), (first_id, 2, 2), (third, 3, 1)]
    async with store.read() as tx:
        assert await tx.event_positions([first_id, second, third]) == {
            second: (1, 1),
            first_id: (2, 2),
            third: (3, 1),
        }
        row = (await tx.conn.execute(select(pages).where(pages.c.id == page_id))).one()
    assert (row.seq, row.comment_count) == (3, 1)


async def test_a_transaction_that_rolls_back_leaves_no_number_taken(pg_store: SqlStore) -> None:
    store = pg_store
    page_id = await _page(store)

    async def failing_post() -> None:
        async with store.write() as tx:
            await tx.append_event(page_id, +1, "comment.created", 0, 1)
            raise RuntimeError("the post failed after its event")

    with pytest.raises(RuntimeError):
        await failing_post()
    async with store.write() as tx:
        kept = (await tx.append_event(page_id, +1, "comment.created", 0, 2)).event_id
    assert await _stored(store, page_id) == [(kept, 1, 1)]


async def test_published_events_carry_their_numbers_on_both_stores(store: SqlStore) -> None:
    svc = Services(
        store=store,
        publisher=NoPublisher(),
        limiter=MemoryBroker("test"),
        tokens=AuthorTokens(SECRET),
        secret=SECRET,
        limits=Limits(),
    )
    page_id = await _page(store)
    made: list[Event] = []
    async with store.write() as tx:
        for n in range(3):
            appended = await tx.append_event(page_id, +1, "comment.created", 0, n)
            page = appended.page
            made.append(
                Event(
                    page.site_id,
                    page.id,
                    page.key,
                    page.seq,
                    "comment.created",
                    {"count": page.count},
                    event_id=appended.event_id,
                )
            )
    published = await svc.publish(made)
    assert [(e.seq, e.data["count"]) for e in published] == [(1, 1), (2, 2), (3, 3)]
    assert [e.event_id for e in published] == [e.event_id for e in made]


class ReadlessStore:
    """The real store, except that every read fails: a pool saturated, or the database
    gone, just after a commit."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    def read(self) -> Any:
        raise Unavailable("database_unavailable", "no connection free")

    def write(self) -> Any:
        return self.store.write()

    def numbered(self, event_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        return self.store.numbered(event_ids)


async def test_a_commit_reads_its_numbers_back_on_its_own_connection(pg_store: SqlStore) -> None:
    # Fails with the numbers read on a second connection after the commit: with none to be
    # had, nothing was published (readers waited for the sweep, and a room kept text a
    # deletion had removed) and the post answered with the page as it was before it.
    svc = Services(
        store=ReadlessStore(pg_store),
        publisher=NoPublisher(),
        limiter=MemoryBroker("test"),
        tokens=AuthorTokens(SECRET),
        secret=SECRET,
    )
    page_id = await _page(pg_store)
    async with pg_store.write() as tx:
        appended = await tx.append_event(page_id, +1, "comment.created", 0, 1)
    made = Event(
        "s",
        page_id,
        "/hot",
        PENDING,
        "comment.created",
        {"count": PENDING},
        event_id=appended.event_id,
    )
    published = await svc.publish([made])
    assert [(e.seq, e.data["count"]) for e in published] == [(1, 1)]
    assert pg_store.numbered([appended.event_id]) == {}  # given once, then forgotten
