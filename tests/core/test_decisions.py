"""Moderator decisions through core on both databases: events, counts, conflicts, audit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from server.broker.memory import MemoryBroker
from server.core.authors import AuthorTokens
from server.core.comments import Draft, post_comment
from server.core.context import Limits, Services
from server.core.decisions import Action, decide_comment
from server.core.errors import Conflict
from server.core.models import Event, Site, Status
from server.core.sites import SiteDirectory, add_site
from server.store.database import SqlStore
from server.store.schema import audit_log
from tests.conftest import BACKENDS, SECRET
from tests.support.db import Databases


@dataclass
class Recorder:
    """A Publisher that remembers what core asked it to send."""

    events: list[Event] = field(default_factory=list)
    to_authors: list[tuple[str, Event]] = field(default_factory=list)

    async def publish(self, events: Sequence[Event]) -> None:
        self.events.extend(events)

    async def notify_author(self, site_id: str, author_hash: str, event: Event) -> None:
        self.to_authors.append((author_hash, event))


@dataclass
class World:
    svc: Services
    recorder: Recorder
    site: Site


@pytest.fixture(params=BACKENDS)
async def world(request: pytest.FixtureRequest, databases: Databases) -> AsyncIterator[World]:
    store = SqlStore(await databases.create(request.param))
    await add_site(store, "mod", origins=["https://blog.test"], mode="all")
    recorder = Recorder()
    svc = Services(store=store, publisher=recorder, limiter=MemoryBroker("test"),
                   tokens=AuthorTokens(SECRET), secret=SECRET,
                   limits=Limits(rate_limit=0, min_submit_ms=0))
    yield World(svc, recorder, await SiteDirectory(store).get("mod"))
    await store.close()


async def _held(world: World, body: str = "held", parent: int | None = None) -> tuple[int, str]:
    result = await post_comment(world.svc, world.site, Draft(page="p", body=body, parent=parent),
                                token=None, client_ip="198.51.100.1")
    assert result.comment.status is Status.PENDING
    assert result.comment.held_reason == "moderation mode: all"
    assert result.author_token is not None
    return result.comment.id, result.author_token


async def test_pending_comment_is_never_published(world: World) -> None:
    await _held(world)
    assert world.recorder.events == []


async def test_approval_publishes_comment_approved_with_the_count(world: World) -> None:
    cid, _ = await _held(world, "worth reading")
    await decide_comment(world.svc, world.site, cid, Action.APPROVE, moderator=None,
                         expected=Status.PENDING)
    [event] = world.recorder.events
    assert (event.type, event.seq) == ("comment.approved", 1)
    assert event.data["comment"]["body"] == "worth reading"
    assert event.data["count"] == 1


async def test_rejection_tells_only_the_author(world: World) -> None:
    cid, token = await _held(world)
    await decide_comment(world.svc, world.site, cid, Action.REJECT, moderator=None)
    assert world.recorder.events == []
    [(author, event)] = world.recorder.to_authors
    assert author == AuthorTokens.hash("mod", token)
    assert event.type == "comment.rejected"
    assert event.data == {"comment": {"id": cid, "status": "rejected"}}


async def test_second_decision_on_a_handled_item_is_a_conflict(world: World) -> None:
    cid, _ = await _held(world)
    await decide_comment(world.svc, world.site, cid, Action.APPROVE, moderator=None,
                         expected=Status.PENDING)
    with pytest.raises(Conflict) as err:
        await decide_comment(world.svc, world.site, cid, Action.REJECT, moderator=None,
                             expected=Status.PENDING)
    assert err.value.code == "already_handled"
    async with world.svc.store.read() as tx:
        rows = (await tx.conn.execute(select(audit_log.c.action, audit_log.c.before_status,
                                             audit_log.c.after_status))).all()
    assert [tuple(r) for r in rows] == [("approve", "pending", "approved")]


async def test_hiding_a_published_comment_emits_deleted_and_lowers_count(world: World) -> None:
    cid, _ = await _held(world)
    await decide_comment(world.svc, world.site, cid, Action.APPROVE, moderator=None)
    await decide_comment(world.svc, world.site, cid, Action.SPAM, moderator=None)
    assert [(e.type, e.seq, e.data["count"]) for e in world.recorder.events] == [
        ("comment.approved", 1, 1), ("comment.deleted", 2, 0)]
    assert world.recorder.events[-1].data["comment"]["body"] == ""


async def test_reply_under_a_hidden_parent_cannot_be_approved(world: World) -> None:
    parent, _ = await _held(world, "parent")
    await decide_comment(world.svc, world.site, parent, Action.APPROVE, moderator=None)
    reply, _ = await _held(world, "reply", parent=parent)
    await decide_comment(world.svc, world.site, parent, Action.REJECT, moderator=None)
    with pytest.raises(Conflict, match="approve the comment this replies to"):
        await decide_comment(world.svc, world.site, reply, Action.APPROVE, moderator=None)
