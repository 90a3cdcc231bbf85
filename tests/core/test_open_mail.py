"""One open mail per subscription (issue #18, migration 0016): the fan-out writes a row per
follower and batch, not per follower and comment, news joins the open mail until it is
tried or full (then the next opens), and erasure takes a comment out of the mail that
listed it. Real stores, both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from server.core.comments import Draft, post_comment
from server.core.context import Limits, Services, command_services
from server.core.erasure import erase_author
from server.core.fanout import fan_out
from server.core.models import Site
from server.core.sites import SiteDirectory, add_site
from server.core.transactions.subscriptions import LISTED_CHARACTERS
from server.store.database import SqlStore
from server.store.schema import mail_outbox
from tests.support.config import BACKENDS, SECRET
from tests.support.core import core_services
from tests.support.db import Databases


@dataclass
class World:
    svc: Services
    store: SqlStore
    site: Site
    networks: int = 0
    last_token: str | None = None

    async def post(
        self, body: str, parent: int | None = None, token: str | None = None
    ) -> tuple[int, str, int]:
        """(comment id, author hash, page id) of a post from a network of its own (as the
        author of ``token``, or a new one)."""
        self.networks += 1
        n = self.networks
        result = await post_comment(
            self.svc,
            self.site,
            Draft(page="p", body=body, parent=parent),
            token=token,
            client_ip=f"198.{51 + n // 250 % 50}.{n % 250}.1",
        )
        self.last_token = result.author_token
        assert result.comment.author_hash is not None
        return result.comment.id, result.comment.author_hash, result.page.id

    async def follow(self, digest: str, author: str, scope: str, comment: int, page: int) -> int:
        """A confirmed address following ``scope``; the subscription's id."""
        now = self.svc.now_ms()
        async with self.store.write() as tx:
            address = await tx.add_mail_address("s", digest, "sealed", author, "en", now)
            await tx.confirm_mail_address(address.id, now)
            return (await tx.add_subscription("s", address.id, scope, comment, page, now)).id

    async def queued(self) -> dict[int, list[list[int]]]:
        """Each subscription's unsent reply rows, oldest first: the ids each lists."""
        async with self.store.read() as tx:
            rows = await tx.conn.execute(
                select(mail_outbox.c.subscription_id, mail_outbox.c.comment_ids)
                .where(mail_outbox.c.kind == "reply", mail_outbox.c.sent_at.is_(None))
                .order_by(mail_outbox.c.id)
            )
            found: dict[int, list[list[int]]] = {}
            for subscription_id, listed in rows:
                found.setdefault(subscription_id, []).append(
                    [int(i) for i in listed.split(",") if i]
                )
            return found


@pytest.fixture(params=BACKENDS)
async def world(request: pytest.FixtureRequest, databases: Databases) -> AsyncIterator[World]:
    store = SqlStore(await databases.create(request.param))
    await add_site(command_services(store, SECRET), "s", origins=["https://blog.test"])
    svc = core_services(store, Limits(rate_limit=0, page_rate_limit=0, min_submit_ms=0))
    yield World(svc, store, await SiteDirectory(store).get("s"))
    await store.close()


async def test_a_batch_of_replies_is_one_open_mail_per_follower_and_later_news_joins_it(
    world: World,
) -> None:
    # Fails on a row per follower and comment (before 0016): 30 rows for the asker.
    question, asker, page = await world.post("Which way is north?")
    _, watcher, _ = await world.post("I watch this page")
    await fan_out(world.svc, [page])
    replies_to_asker = await world.follow("asker", asker, "replies", question, page)
    thread = await world.follow("watcher", watcher, "thread", question, page)

    first = [(await world.post(f"Answer {n}", parent=question))[0] for n in range(30)]
    await fan_out(world.svc, [page])
    assert await world.queued() == {replies_to_asker: [first], thread: [first]}

    later = [(await world.post(f"Late answer {n}", parent=question))[0] for n in range(5)]
    await fan_out(world.svc, [page])
    assert await world.queued() == {replies_to_asker: [first + later], thread: [first + later]}


async def test_a_full_open_mail_is_left_for_the_next_and_every_comment_is_listed(
    world: World,
) -> None:
    question, asker, page = await world.post("Hot take?")
    followed = await world.follow("asker", asker, "replies", question, page)
    posted = []
    for batch in range(5):
        for n in range(80):
            posted.append((await world.post(f"Reply {batch}-{n}", parent=question))[0])
        await fan_out(world.svc, [page])
    rows = (await world.queued())[followed]
    assert [i for listed in rows for i in listed] == posted  # each once, in order
    # A row takes news until its list reaches the limit (the batch that fills it goes in
    # whole); only the last is open.
    lengths = [len(",".join(map(str, listed))) for listed in rows]
    assert len(rows) >= 2
    assert all(length >= LISTED_CHARACTERS for length in lengths[:-1])
    assert lengths[-1] < LISTED_CHARACTERS


async def test_erasure_takes_a_comment_out_of_the_mail_that_listed_it(world: World) -> None:
    question, asker, page = await world.post("Anyone?")
    followed = await world.follow("asker", asker, "replies", question, page)
    kept, _, _ = await world.post("Me!", parent=question)
    gone, gone_author, _ = await world.post("Me too, but forget me", parent=question)
    await fan_out(world.svc, [page])
    assert (await world.queued())[followed] == [[kept, gone]]

    await erase_author(world.svc, world.site, gone_author, by=None)
    assert (await world.queued())[followed] == [[kept]]


async def test_erasure_that_shortens_a_full_mail_joins_it_with_the_open_one(world: World) -> None:
    # Fails when a full row is rewritten on its own: shorter than the limit, it is a
    # second open mail of its subscription, and the unique index refuses the erasure.
    question, asker, page = await world.post("Busy thread?")
    followed = await world.follow("asker", asker, "replies", question, page)
    _, chatty, _ = await world.post("First of many", parent=question)
    token = world.last_token
    for n in range(99):
        await world.post(f"And another {n}", parent=question, token=token)
    await fan_out(world.svc, [page])
    others = [(await world.post(f"Reply {n}", parent=question))[0] for n in range(200)]
    await fan_out(world.svc, [page])
    late = [(await world.post(f"Late {n}", parent=question))[0] for n in range(10)]
    await fan_out(world.svc, [page])
    assert len((await world.queued())[followed]) == 2  # a full one and an open one

    await erase_author(world.svc, world.site, chatty, by=None)
    assert (await world.queued())[followed] == [others + late]
