"""Moderator decisions through core on both databases: events, counts, conflicts, audit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace

import pytest
from sqlalchemy import select

from server.broker.memory import MemoryBroker
from server.core.author_changes import delete_comment
from server.core.authors import AuthorTokens
from server.core.comments import Draft, post_comment
from server.core.context import Limits, Services, command_services
from server.core.decisions import Action, decide_comment
from server.core.erasure import erase_mine, forget_old_data
from server.core.errors import Conflict
from server.core.models import Comment, Event, Site, Status
from server.core.sites import SiteDirectory, add_site
from server.store.database import SqlStore
from server.store.schema import audit_log
from tests.support.config import BACKENDS, SECRET
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

    async def reactions_changed(
        self, site_id: str, page_id: int, page_key: str, comment_id: int
    ) -> None:
        return None

    async def notifications_changed(self, site_id: str, recipients: Sequence[str]) -> None:
        return None


@dataclass
class World:
    svc: Services
    recorder: Recorder
    site: Site


@pytest.fixture(params=BACKENDS)
async def world(request: pytest.FixtureRequest, databases: Databases) -> AsyncIterator[World]:
    store = SqlStore(await databases.create(request.param))
    await add_site(
        command_services(store, SECRET), "mod", origins=["https://blog.test"], mode="all"
    )
    recorder = Recorder()
    svc = Services(
        store=store,
        publisher=recorder,
        limiter=MemoryBroker("test"),
        tokens=AuthorTokens(SECRET),
        secret=SECRET,
        limits=Limits(rate_limit=0, min_submit_ms=0),
    )
    yield World(svc, recorder, await SiteDirectory(store).get("mod"))
    await store.close()


async def _held(world: World, body: str = "held", parent: int | None = None) -> tuple[int, str]:
    result = await post_comment(
        world.svc,
        world.site,
        Draft(page="p", body=body, parent=parent),
        token=None,
        client_ip="198.51.100.1",
    )
    assert result.comment.status is Status.PENDING
    assert result.comment.held_reason == "moderation mode: all"
    assert result.author_token is not None
    return result.comment.id, result.author_token


async def test_pending_comment_is_never_published(world: World) -> None:
    await _held(world)
    assert world.recorder.events == []


async def test_approval_publishes_comment_approved_with_the_count(world: World) -> None:
    cid, _ = await _held(world, "worth reading")
    await decide_comment(
        world.svc, world.site, cid, Action.APPROVE, moderator=None, expected=Status.PENDING
    )
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
    await decide_comment(
        world.svc, world.site, cid, Action.APPROVE, moderator=None, expected=Status.PENDING
    )
    with pytest.raises(Conflict) as err:
        await decide_comment(
            world.svc, world.site, cid, Action.REJECT, moderator=None, expected=Status.PENDING
        )
    assert err.value.code == "already_handled"
    assert isinstance(world.svc.store, SqlStore)
    async with world.svc.store.read() as tx:
        rows = (
            await tx.conn.execute(
                select(audit_log.c.action, audit_log.c.before_status, audit_log.c.after_status)
            )
        ).all()
    assert [tuple(r) for r in rows] == [("approve", "pending", "approved")]


async def test_hiding_a_published_comment_emits_deleted_and_lowers_count(world: World) -> None:
    cid, _ = await _held(world)
    await decide_comment(world.svc, world.site, cid, Action.APPROVE, moderator=None)
    await decide_comment(world.svc, world.site, cid, Action.SPAM, moderator=None)
    assert [(e.type, e.seq, e.data["count"]) for e in world.recorder.events] == [
        ("comment.approved", 1, 1),
        ("comment.deleted", 2, 0),
    ]
    assert world.recorder.events[-1].data["comment"]["body"] == ""


async def test_reply_under_a_hidden_parent_cannot_be_approved(world: World) -> None:
    parent, _ = await _held(world, "parent")
    await decide_comment(world.svc, world.site, parent, Action.APPROVE, moderator=None)
    reply, _ = await _held(world, "reply", parent=parent)
    await decide_comment(world.svc, world.site, parent, Action.REJECT, moderator=None)
    with pytest.raises(Conflict, match="approve the comment this replies to"):
        await decide_comment(world.svc, world.site, reply, Action.APPROVE, moderator=None)


async def _row(world: World, comment_id: int) -> Comment:
    assert isinstance(world.svc.store, SqlStore)
    async with world.svc.store.read() as tx:
        found = await tx.find_comment(comment_id)
    assert found is not None
    return found


async def test_a_moderators_delete_hides_the_text_and_restore_republishes_it(world: World) -> None:
    cid, _ = await _held(world, "said in haste")
    await decide_comment(world.svc, world.site, cid, Action.APPROVE, moderator=None)
    await decide_comment(
        world.svc, world.site, cid, Action.DELETE, moderator=None, expected=Status.APPROVED
    )
    deleted = await _row(world, cid)
    assert (deleted.status, deleted.body, deleted.deleted_from) == (
        Status.DELETED,
        "said in haste",
        Status.APPROVED,
    )  # kept, for moderators only
    assert deleted.public()["body"] == "" and deleted.public()["name"] is None
    restored = await decide_comment(
        world.svc, world.site, cid, Action.RESTORE, moderator=None, expected=Status.DELETED
    )
    assert (restored.status, restored.deleted_at, restored.deleted_from) == (
        Status.APPROVED,
        None,
        None,
    )
    approved, gone, back = world.recorder.events
    assert [(e.type, e.seq) for e in (approved, gone, back)] == [
        ("comment.approved", 1),
        ("comment.deleted", 2),
        ("comment.approved", 3),
    ]
    assert gone.data["comment"]["body"] == ""  # readers never got the hidden text
    assert back.data["comment"]["body"] == "said in haste" and back.data["count"] == 1
    assert isinstance(world.svc.store, SqlStore)
    async with world.svc.store.read() as tx:
        actions = (
            (
                await tx.conn.execute(
                    select(audit_log.c.action)
                    .where(audit_log.c.comment_id == cid)
                    .order_by(audit_log.c.id)
                )
            )
            .scalars()
            .all()
        )
    assert actions == ["approve", "delete", "restore"]
    with pytest.raises(Conflict, match="changed to approved"):
        await decide_comment(
            world.svc, world.site, cid, Action.RESTORE, moderator=None, expected=Status.DELETED
        )


async def test_restoring_returns_a_comment_to_the_status_it_had(world: World) -> None:
    cid, _ = await _held(world, "never published")
    await decide_comment(world.svc, world.site, cid, Action.DELETE, moderator=None)
    restored = await decide_comment(world.svc, world.site, cid, Action.RESTORE, moderator=None)
    assert restored.status is Status.PENDING
    assert restored.held_reason == "moderation mode: all"
    assert world.recorder.events == []  # it was never public, it is not now


async def test_after_30_days_a_deletion_cannot_be_restored_and_its_text_is_blanked(
    world: World,
) -> None:
    now = [1_800_000_000.0]
    svc = replace(world.svc, clock=lambda: now[0])
    old, _ = await _held(world, "deleted long ago")
    recent, _ = await _held(world, "deleted lately")
    await decide_comment(svc, world.site, old, Action.DELETE, moderator=None)
    now[0] += 2 * 86400
    await decide_comment(svc, world.site, recent, Action.DELETE, moderator=None)
    now[0] += 29 * 86400  # 31 days after the first, 29 after the second
    with pytest.raises(Conflict, match="only comments a moderator deleted in the last 30"):
        await decide_comment(svc, world.site, old, Action.RESTORE, moderator=None)
    assert (await forget_old_data(svc))[2] == 1  # the hourly clean-up
    blanked = await _row(world, old)
    assert (blanked.status, blanked.body, blanked.author_name, blanked.deleted_at) == (
        Status.DELETED,
        "",
        None,
        None,
    )
    assert (await _row(world, recent)).body == "deleted lately"
    restored = await decide_comment(svc, world.site, recent, Action.RESTORE, moderator=None)
    assert restored.status is Status.PENDING


async def test_author_deletions_and_erasures_leave_nothing_to_restore(world: World) -> None:
    mine, token = await _held(world, "the author takes it back")
    await decide_comment(world.svc, world.site, mine, Action.APPROVE, moderator=None)
    await delete_comment(world.svc, world.site, mine, token=token, client_ip="198.51.100.1")
    assert (await _row(world, mine)).body == ""
    with pytest.raises(Conflict, match="this one's text is gone"):
        await decide_comment(world.svc, world.site, mine, Action.RESTORE, moderator=None)
    theirs, token = await _held(world, "deleted by a moderator, then erased")
    await decide_comment(world.svc, world.site, theirs, Action.DELETE, moderator=None)
    await erase_mine(world.svc, world.site, token)
    erased = await _row(world, theirs)
    assert (erased.body, erased.deleted_at, erased.deleted_from) == ("", None, None)
    with pytest.raises(Conflict, match="this one's text is gone"):
        await decide_comment(world.svc, world.site, theirs, Action.RESTORE, moderator=None)
