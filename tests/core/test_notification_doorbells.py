"""Every change to a reader's notifications rings their doorbell after commit, and only
theirs: a reply published (posting, approval), a decision, a reaction counted or taken
back, a mark read, a delete, an erasure. A self-reply and a held reply ring nobody."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest

from server.broker.memory import MemoryBroker
from server.core import notifications
from server.core.authors import AuthorTokens
from server.core.comments import Draft, post_comment
from server.core.context import Limits, Services, command_services
from server.core.decisions import Action, decide_comment
from server.core.erasure import erase_mine
from server.core.fanout import fan_out
from server.core.models import Site
from server.core.reactions import react, unreact
from server.core.sites import SiteDirectory, add_site
from server.store.database import SqlStore
from tests.support.config import BACKENDS, SECRET
from tests.support.db import Databases
from tests.support.publishers import NoPublisher


@dataclass
class Doorbells(NoPublisher):
    """A Publisher that remembers whose doorbells core rang, and nothing else."""

    rung: list[tuple[str, list[str]]] = field(default_factory=list)

    async def notifications_changed(self, site_id: str, recipients: Sequence[str]) -> None:
        self.rung.append((site_id, sorted(recipients)))

    def take(self) -> list[tuple[str, list[str]]]:
        out, self.rung = self.rung, []
        return out


@dataclass
class World:
    svc: Services
    bells: Doorbells
    open_site: Site
    held_site: Site


@pytest.fixture(params=BACKENDS)
async def world(request: pytest.FixtureRequest, databases: Databases) -> AsyncIterator[World]:
    store = SqlStore(await databases.create(request.param))
    for site_id, mode in (("open", "none"), ("held", "all")):
        await add_site(
            command_services(store, SECRET), site_id, origins=["https://blog.test"], mode=mode
        )
    bells = Doorbells()
    svc = Services(
        store=store,
        publisher=bells,
        limiter=MemoryBroker("test"),
        tokens=AuthorTokens(SECRET),
        secret=SECRET,
        limits=Limits(rate_limit=0, min_submit_ms=0),
    )
    sites = SiteDirectory(store)
    yield World(svc, bells, await sites.get("open"), await sites.get("held"))
    await store.close()


async def _post(
    world: World, site: Site, network: int, parent: int | None = None, token: str | None = None
) -> tuple[int, str, str]:
    """(comment id, author token, author hash) of a post from its own network."""
    result = await post_comment(
        world.svc,
        site,
        Draft(page="p", body=f"from {network} to {parent}", parent=parent),
        token=token,
        client_ip=f"198.51.{network}.1",
    )
    await fan_out(world.svc)  # as the server does a moment after a post
    author = token or result.author_token
    assert author is not None
    return result.comment.id, author, AuthorTokens.hash(site.id, author)


async def test_replies_reactions_read_marks_deletes_and_erasure_ring_the_reader(
    world: World,
) -> None:
    site, bells = world.open_site, world.bells
    comment, alice, alice_hash = await _post(world, site, 1)
    assert bells.take() == []  # a top-level comment tells nobody
    reply, bob, bob_hash = await _post(world, site, 2, parent=comment)
    assert bells.take() == [("open", [alice_hash])]
    await _post(world, site, 1, parent=comment, token=alice)  # her own reply: nobody
    assert bells.take() == []
    # Bob answers his own reply: it hangs under alice's comment, so only she is told.
    await _post(world, site, 2, parent=reply, token=bob)
    assert bells.take() == [("open", [alice_hash])]

    reacted = await react(world.svc, site, comment, "up", token=None, client_ip="198.51.3.1")
    assert bells.take() == [("open", [alice_hash])]
    again = await react(world.svc, site, comment, "up", token=reacted.token, client_ip="198.51.3.1")
    assert again.reaction == "up" and bells.take() == []  # nothing changed: no doorbell
    await unreact(world.svc, site, comment, token=reacted.token, client_ip="198.51.3.1")
    assert bells.take() == [("open", [alice_hash])]

    await notifications.mark_read(world.svc, site, alice, {"all": True}, client_ip="198.51.3.9")
    assert bells.take() == [("open", [alice_hash])]
    listed = await notifications.list_notifications(world.svc, site, alice, None)
    await notifications.delete_notification(
        world.svc, site, alice, listed.notifications[0]["id"], client_ip="198.51.3.9"
    )
    assert bells.take() == [("open", [alice_hash])]

    # Bob erases himself: his notifications go (his doorbell), and so do those his
    # replies gave alice (hers).
    await erase_mine(world.svc, site, bob)
    assert bells.take() == [("open", sorted({alice_hash, bob_hash}))]


async def test_decisions_ring_the_held_author_and_whom_the_approved_reply_answers(
    world: World,
) -> None:
    site, bells = world.held_site, world.bells
    comment, _, alice_hash = await _post(world, site, 1)
    assert bells.take() == []  # held: nobody is told yet
    await decide_comment(world.svc, site, comment, Action.APPROVE, moderator=None)
    assert bells.take() == [("held", [alice_hash])]  # approved
    reply, _, bob_hash = await _post(world, site, 2, parent=comment)
    assert bells.take() == []  # a held reply tells nobody
    await decide_comment(world.svc, site, reply, Action.APPROVE, moderator=None)
    assert bells.take() == [("held", sorted([alice_hash, bob_hash]))]
    rejected, _, carol_hash = await _post(world, site, 3, parent=comment)
    await decide_comment(world.svc, site, rejected, Action.REJECT, moderator=None)
    assert bells.take() == [("held", [carol_hash])]
