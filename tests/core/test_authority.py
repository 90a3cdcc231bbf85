"""Authorization and auditing live in core: a moderator acts only on their own sites'
comments, only owners change a site, and every such change is in the audit log, whichever
transport (or none) calls the use-case."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest

from server.broker.memory import MemoryBroker
from server.core import queue_actions, site_admin
from server.core.authors import AuthorTokens
from server.core.bans import lift_ban
from server.core.comments import Draft, post_comment
from server.core.context import Limits, Services, command_services
from server.core.decisions import Action, decide_comment, moderator_edit
from server.core.errors import Forbidden, Invalid, NotFound, Unavailable
from server.core.models import AuditEntry, Moderator, Site, Status
from server.core.moderators import add_moderator, revoke_moderator
from server.core.passwords import hasher
from server.core.sites import SiteDirectory, add_site
from server.store.database import SqlStore
from tests.support.config import BACKENDS, SECRET
from tests.support.db import Databases
from tests.support.publishers import NoPublisher

PASSWORD = "correct horse battery staple"


class Silent(NoPublisher):
    """A Publisher that drops what it is given: these tests look at the database."""


@dataclass
class Sites:
    svc: Services
    mine: Site
    theirs: Site
    owner: Moderator  # owns "mine"
    moderator: Moderator  # moderates "mine", owns nothing


@pytest.fixture(params=BACKENDS)
async def sites(request: pytest.FixtureRequest, databases: Databases) -> AsyncIterator[Sites]:
    store = SqlStore(await databases.create(request.param))
    for site_id in ("mine", "theirs"):
        await add_site(
            command_services(store, SECRET), site_id, origins=["https://blog.test"], mode="all"
        )
    ph = hasher("test")
    owner, _ = await add_moderator(
        command_services(store, SECRET),
        ph,
        "owner@example.com",
        "mine",
        password=PASSWORD,
        owner=True,
    )
    moderator, _ = await add_moderator(
        command_services(store, SECRET), ph, "mod@example.com", "mine", password=PASSWORD
    )
    svc = Services(
        store=store,
        publisher=Silent(),
        limiter=MemoryBroker("test"),
        tokens=AuthorTokens(SECRET),
        secret=SECRET,
        limits=Limits(rate_limit=0, min_submit_ms=0),
    )
    directory = SiteDirectory(store)
    yield Sites(svc, await directory.get("mine"), await directory.get("theirs"), owner, moderator)
    await store.close()


async def _held(svc: Services, site: Site) -> int:
    result = await post_comment(
        svc, site, Draft(page="p", body="held"), token=None, client_ip="198.51.100.1"
    )
    return result.comment.id


async def _audit(svc: Services, site_id: str) -> list[AuditEntry]:
    async with svc.store.read() as tx:
        rows = await tx.audit_entries(
            [site_id], action=None, moderator=None, comment_id=None, limit=100, offset=0
        )
    return [entry for entry, _ in rows]


async def _status(svc: Services, comment_id: int) -> Status:
    async with svc.store.read() as tx:
        comment = await tx.find_comment(comment_id)
    assert comment is not None
    return comment.status


async def test_deciding_on_another_sites_comment_is_refused_in_core(sites: Sites) -> None:
    theirs = await _held(sites.svc, sites.theirs)
    with pytest.raises(Forbidden) as refused:
        await decide_comment(
            sites.svc, sites.theirs, theirs, Action.APPROVE, moderator=sites.moderator
        )
    assert refused.value.code == "not_your_site"
    with pytest.raises(Forbidden):
        await queue_actions.decide(sites.svc, sites.moderator, theirs, Action.APPROVE)
    assert await _status(sites.svc, theirs) is Status.PENDING
    assert await _audit(sites.svc, "theirs") == []


async def test_deciding_on_ones_own_sites_comment_is_audited(sites: Sites) -> None:
    mine = await _held(sites.svc, sites.mine)
    decided = await queue_actions.decide(
        sites.svc, sites.moderator, mine, Action.APPROVE, expected=Status.PENDING
    )
    assert decided.status is Status.APPROVED
    [entry] = await _audit(sites.svc, "mine")
    assert (entry.action, entry.moderator_id, entry.comment_id) == (
        "approve",
        sites.moderator.id,
        mine,
    )


async def test_a_bulk_decision_refuses_other_sites_items_one_by_one(sites: Sites) -> None:
    mine, theirs = await _held(sites.svc, sites.mine), await _held(sites.svc, sites.theirs)
    outcome = await queue_actions.decide_many(
        sites.svc,
        sites.moderator,
        Action.REJECT,
        [queue_actions.Seen(mine), queue_actions.Seen(theirs), queue_actions.Seen(10**12)],
    )
    assert outcome.decided == [mine]
    assert [(i, exc.code) for i, exc in outcome.refused] == [
        (theirs, "not_your_site"),
        (10**12, "comment_not_found"),
    ]


async def test_editing_banning_and_replying_on_another_site_are_refused(sites: Sites) -> None:
    theirs = await _held(sites.svc, sites.theirs)
    with pytest.raises(Forbidden):
        await moderator_edit(sites.svc, sites.theirs, theirs, "new", moderator=sites.moderator)
    with pytest.raises(Forbidden):
        await queue_actions.edit(sites.svc, sites.moderator, theirs, "new")
    with pytest.raises(Forbidden):
        await queue_actions.ban(
            sites.svc, sites.moderator, theirs, mode="reject", include_ip=False, reason=""
        )
    with pytest.raises(Forbidden):
        await queue_actions.reply(sites.svc, sites.moderator, theirs, "hi", client_ip="::1")
    assert await _audit(sites.svc, "theirs") == []


async def test_only_owners_erase_an_authors_data(sites: Sites) -> None:
    mine = await _held(sites.svc, sites.mine)
    with pytest.raises(Forbidden) as refused:
        await queue_actions.erase_author_data(sites.svc, sites.moderator, mine)
    assert refused.value.code == "not_owner"
    assert await queue_actions.erase_author_data(sites.svc, sites.owner, mine) == 1
    assert [e.action for e in await _audit(sites.svc, "mine")] == ["erase"]


async def test_only_owners_change_settings_and_each_change_is_audited(sites: Sites) -> None:
    change = site_admin.SettingsChange(
        origins=["https://blog.test", "https://www.blog.test"],
        mode="none",
        banned_words=[],
        suspect_words=[],
        max_links="3",
        flag_threshold="2",
        webhook_url=None,
        emails=[],
    )
    with pytest.raises(Forbidden):
        await site_admin.change_site_settings(sites.svc, sites.moderator, "mine", change)
    with pytest.raises(Forbidden):
        await site_admin.site_overview(sites.svc, sites.moderator, "mine")
    with pytest.raises(Forbidden):
        await site_admin.export_owned_site(sites.svc, sites.moderator, "mine")
    with pytest.raises(Forbidden):  # owning one site gives nothing on another
        await site_admin.change_site_settings(sites.svc, sites.owner, "theirs", change)
    updated = await site_admin.change_site_settings(sites.svc, sites.owner, "mine", change)
    assert updated.filters.max_links == 3
    [entry] = await _audit(sites.svc, "mine")
    assert (entry.action, entry.moderator_id) == ("settings", sites.owner.id)
    assert entry.detail == "mode none, 2 origins"
    too_many = replace(change, max_links="101")
    with pytest.raises(Invalid, match="max links must be 0-100"):
        await site_admin.change_site_settings(sites.svc, sites.owner, "mine", too_many)


async def test_only_owners_lift_bans(sites: Sites) -> None:
    mine = await _held(sites.svc, sites.mine)
    ban = await queue_actions.ban(
        sites.svc, sites.moderator, mine, mode="hold", include_ip=False, reason="spam"
    )
    with pytest.raises(Forbidden):
        await lift_ban(sites.svc, "mine", ban.id, moderator=sites.moderator)
    await lift_ban(sites.svc, "mine", ban.id, moderator=sites.owner)
    with pytest.raises(NotFound):
        await lift_ban(sites.svc, "mine", ban.id, moderator=sites.owner)
    assert [e.action for e in await _audit(sites.svc, "mine")] == ["unban", "ban"]


async def test_owners_remove_moderators_but_not_themselves_and_it_is_audited(
    sites: Sites,
) -> None:
    with pytest.raises(Forbidden):
        await site_admin.remove_site_moderator(sites.svc, sites.moderator, "mine", sites.owner.id)
    with pytest.raises(Invalid, match="cannot remove yourself"):
        await site_admin.remove_site_moderator(sites.svc, sites.owner, "mine", sites.owner.id)
    await site_admin.remove_site_moderator(sites.svc, sites.owner, "mine", sites.moderator.id)
    [entry] = await _audit(sites.svc, "mine")
    assert entry.detail == f"removed moderator {sites.moderator.id}"
    # Gone from the site: nothing there for them any more, in core.
    async with sites.svc.store.read() as tx:
        removed = await tx.find_moderator_by_id(sites.moderator.id)
    assert removed is not None
    assert not removed.can_moderate("mine")


async def test_the_operator_removing_a_moderator_is_audited_on_each_site_it_loses(
    sites: Sites,
) -> None:
    await add_moderator(
        command_services(sites.svc.store, SECRET),
        hasher("test"),
        "mod@example.com",
        "theirs",
        password=None,
    )
    await revoke_moderator(sites.svc, "mod@example.com", "theirs")
    [entry] = await _audit(sites.svc, "theirs")
    assert (entry.action, entry.moderator_id) == ("settings", None)
    assert entry.detail == "removed moderator mod@example.com"
    await revoke_moderator(sites.svc, "MOD@example.com")  # the whole account
    [entry] = await _audit(sites.svc, "mine")
    assert entry.detail == "deleted the account of moderator mod@example.com"
    with pytest.raises(NotFound):
        await revoke_moderator(sites.svc, "mod@example.com")


async def test_an_invitation_that_could_not_be_sent_is_taken_back(sites: Sites) -> None:
    async def fails(site: Site, address: str, token: str) -> None:
        raise OSError("no mail server")

    sent: list[str] = []

    async def works(site: Site, address: str, token: str) -> None:
        sent.append(address)

    with pytest.raises(Forbidden):
        await site_admin.invite_moderator(
            sites.svc, sites.moderator, "mine", "new@example.com", as_owner=False, send=works
        )
    with pytest.raises(Invalid, match="THREADLINE_SMTP_URL"):
        await site_admin.invite_moderator(
            sites.svc, sites.owner, "mine", "new@example.com", as_owner=False, send=None
        )
    with pytest.raises(Unavailable):
        await site_admin.invite_moderator(
            sites.svc, sites.owner, "mine", "new@example.com", as_owner=False, send=fails
        )
    async with sites.svc.store.read() as tx:
        assert await tx.site_invitations("mine") == []
    assert await _audit(sites.svc, "mine") == []
    await site_admin.invite_moderator(
        sites.svc, sites.owner, "mine", "New@example.com", as_owner=False, send=works
    )
    assert sent == ["new@example.com"]
    [entry] = await _audit(sites.svc, "mine")
    assert entry.detail == "invited moderator new@example.com"
