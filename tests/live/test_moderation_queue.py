"""The moderators' live queue hub: what a queue change carries, and what it sends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
import pytest

import server.core.comments as comments_module
from server.broker.memory import MemoryBroker
from server.broker.messages import unpack
from server.core.authors import AuthorTokens
from server.core.comments import Draft, PostResult, post_comment
from server.core.context import Limits, Services, command_services
from server.core.decisions import Action, decide_comment
from server.core.erasure import erase_mine
from server.core.models import QueueChange, Site
from server.core.ports import Tx
from server.core.sites import SiteDirectory, add_site
from server.live.moderation_queue import ModerationQueueHub
from server.store.database import SqlStore
from tests.support.config import BACKENDS, SECRET
from tests.support.db import Databases
from tests.support.publishers import NoPublisher


@dataclass
class Changes:
    """A QueueObserver that keeps every change core reports."""

    seen: list[QueueChange] = field(default_factory=list)

    async def queue_changed(self, change: QueueChange) -> None:
        self.seen.append(change)


@dataclass
class World:
    svc: Services
    site: Site
    changes: Changes


@pytest.fixture(params=BACKENDS)
async def world(request: pytest.FixtureRequest, databases: Databases) -> AsyncIterator[World]:
    store = SqlStore(await databases.create(request.param))
    await add_site(
        command_services(store, SECRET), "live-queue", origins=["https://blog.test"], mode="all"
    )
    changes = Changes()
    svc = Services(
        store=store,
        publisher=NoPublisher(),
        limiter=MemoryBroker("test"),
        tokens=AuthorTokens(SECRET),
        secret=SECRET,
        limits=Limits(rate_limit=0, min_submit_ms=0),
        observers=[changes],
    )
    yield World(svc, await SiteDirectory(store).get("live-queue"), changes)
    await store.close()


async def _post(
    world: World, body: str, *, parent: int | None = None, token: str | None = None
) -> PostResult:
    return await post_comment(
        world.svc,
        world.site,
        Draft(page="p", body=body, parent=parent),
        token=token,
        client_ip="198.51.100.9",
    )


class UnreadableStore:
    """A store that fails every read: the hub must not need one to render a change."""

    def read(self) -> AbstractAsyncContextManager[Tx]:
        raise AssertionError("the live queue read the database")

    def write(self) -> AbstractAsyncContextManager[Tx]:
        raise AssertionError("the live queue wrote to the database")

    def numbered(self, event_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        raise AssertionError("the live queue read the database")


async def test_a_reply_reaches_the_live_queue_with_what_it_answers_and_no_read(
    world: World,
) -> None:
    first = await _post(world, "the question")
    await decide_comment(world.svc, world.site, first.comment.id, Action.APPROVE, moderator=None)
    reply = await _post(world, "the answer", parent=first.comment.id)
    change = world.changes.seen[-1]
    assert change.comment.id == reply.comment.id
    assert change.replying_to is not None and change.replying_to.id == first.comment.id

    broker = MemoryBroker("test")
    sent: list[tuple[str, bytes]] = []

    async def publish(channel: str, message: bytes) -> None:
        sent.append((channel, message))

    broker.publish = publish  # type: ignore[method-assign]
    unreadable: Any = UnreadableStore()
    hub = ModerationQueueHub(broker, replace(world.svc, store=unreadable))
    await hub.queue_changed(change)
    [(channel, message)] = sent
    assert channel.endswith(":live-queue")
    item = orjson.loads(unpack(message)[3])["data"]["item"]
    assert item["id"] == reply.comment.id
    assert item["parent"]["id"] == first.comment.id
    assert item["parent"]["body"] == "the question"


async def test_an_erased_authors_reply_never_carries_their_erased_text(world: World) -> None:
    first = await _post(world, "words to be erased")
    await decide_comment(world.svc, world.site, first.comment.id, Action.APPROVE, moderator=None)
    token = first.author_token
    await _post(world, "my own follow-up", parent=first.comment.id, token=token)
    world.changes.seen.clear()
    assert await erase_mine(world.svc, world.site, token) == 2
    answered = [c.replying_to for c in world.changes.seen if c.replying_to is not None]
    assert [c.id for c in answered] == [first.comment.id]
    assert answered[0].body == "" and answered[0].author_name is None


# SQLite runs one write at a time, so only PostgreSQL has the window.
@pytest.mark.parametrize("world", ["postgresql"], indirect=True)
async def test_an_erasure_racing_a_reply_waits_for_it_so_no_erased_text_is_carried(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL runs two writes at once: the author of the comment being answered erases
    their data while the reply's transaction is open. The erasure must wait for the reply
    (which carries the text as it was when it was still public), never commit in between
    and leave the reply carrying text already erased."""
    assert isinstance(world.svc.store, SqlStore) and world.svc.store.dialect == "postgresql"
    first = await _post(world, "secret words the author will erase")
    await decide_comment(world.svc, world.site, first.comment.id, Action.APPROVE, moderator=None)
    token = first.author_token
    assert token is not None
    original = comments_module._attach_point
    erasure: list[asyncio.Task[int]] = []

    async def attach_then_race(tx: Any, page: Any, parent_id: int | None) -> Any:
        found = await original(tx, page, parent_id)
        if parent_id == first.comment.id:
            erasure.append(asyncio.create_task(erase_mine(world.svc, world.site, token)))
            await asyncio.sleep(0.5)  # time enough for an unhindered erasure to commit
            assert not erasure[0].done(), "the erasure committed inside the reply's write"
        return found

    monkeypatch.setattr(comments_module, "_attach_point", attach_then_race)
    reply = await _post(world, "a reply", parent=first.comment.id)
    assert await erasure[0] == 1
    carried = next(c for c in world.changes.seen if c.comment.id == reply.comment.id)
    assert carried.replying_to is not None
    assert carried.replying_to.body == "secret words the author will erase"
