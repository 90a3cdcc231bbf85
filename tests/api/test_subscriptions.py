"""E-mail subscriptions over the API with a real SMTP server (aiosmtpd), on SQLite and
PostgreSQL: double opt-in, one mail after approval (none while held, none for one's own
comments), digests, the cross-site confirmation cap, signed links, sealed addresses,
erasure, and a dead SMTP server that neither slows posting nor loses mail."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from server.app import create_app
from server.core import subscriptions
from server.core.context import Services, command_services
from server.core.decisions import Action, decide_comment
from server.core.errors import Invalid, Unavailable
from server.core.sites import SiteDirectory, add_site
from server.mail.outbox import MailOutbox
from server.store.database import SqlStore
from server.store.schema import mail_addresses, mail_outbox, mail_throttle
from server.store.schema import subscriptions as subs
from tests.support.api import ORIGIN, Clock, fanned_out
from tests.support.config import SECRET, settings_for
from tests.support.mailbox import Mailbox, link_in, smtp_server, text_of

WINDOW = 60
networks = itertools.count(1)
sites = itertools.count(1)


@dataclass
class MailWorld:
    http: httpx.AsyncClient
    store: SqlStore
    box: Mailbox
    clock: Clock
    app: Any

    @property
    def svc(self) -> Services:
        services: Services = self.app.state.tl.services
        return services

    @property
    def outbox(self) -> MailOutbox:
        outbox: MailOutbox = self.app.state.tl.mail
        return outbox

    async def new_site(self, moderation: str = "none") -> str:
        site = f"m{next(sites)}-{int(time.time() * 1000) % 100000}"
        await add_site(
            command_services(self.store, SECRET), site, origins=(ORIGIN,), mode=moderation
        )
        return site

    async def count(self, table: Any, *where: Any) -> int:
        async with self.store.read() as tx:
            query = select(func.count()).select_from(table)
            for clause in where:
                query = query.where(clause)
            return int((await tx.conn.execute(query)).scalar_one())


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as served:
        yield served


@pytest.fixture
async def world(
    backend_db: str, tmp_path: Path, mailbox: tuple[Mailbox, int]
) -> AsyncIterator[MailWorld]:
    box, port = mailbox
    clock = Clock()
    app = create_app(
        settings_for(
            backend_db,
            tmp_path,
            smtp_url=f"smtp://127.0.0.1:{port}",
            smtp_from="comments@blog.test",
            public_url="https://comments.blog.test",
            mail_digest_seconds=WINDOW,
        ),
        clock=clock,
    )
    state = app.state.tl
    state.mail.poll = 0.05
    state.mail.retries = (0.2, 0.2, 0.2)
    store = SqlStore(backend_db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            try:
                yield MailWorld(http, store, box, clock, app)
            finally:
                clock.offset = 0.0  # the app's timers stop on the clock they started on
    await store.close()


class Reader:
    """One reader on their own network, with the author token of their first post."""

    def __init__(self, world: MailWorld, site: str) -> None:
        self.world, self.site = world, site
        n = next(networks)
        self.ip = f"100.{80 + n // 250 % 40}.{n % 250}.7"
        self.token: str | None = None

    def headers(self) -> dict[str, str]:
        out = {"X-Forwarded-For": self.ip}
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        return out

    async def post(self, body: str, parent: int | None = None, page: str = "p") -> dict[str, Any]:
        extra: dict[str, Any] = {} if parent is None else {"parent": parent}
        r = await self.world.http.post(
            f"/api/v1/sites/{self.site}/comments",
            json={
                "page": page,
                "body": body,
                "title": "A page",
                "url": f"{ORIGIN}/{page}",
                **extra,
            },
            headers=self.headers(),
        )
        assert r.status_code == 201, r.text
        await fanned_out(self.world.store, services=self.world.svc)
        self.token = self.token or r.json()["author_token"]
        comment: dict[str, Any] = r.json()["comment"]
        return comment

    async def subscribe(
        self, comment_id: int, email: str, scope: str = "replies", **extra: Any
    ) -> httpx.Response:
        return await self.world.http.post(
            f"/api/v1/sites/{self.site}/comments/{comment_id}/subscribe",
            json={"email": email, "scope": scope, **extra},
            headers=self.headers(),
        )

    async def subscribed(self, comment_id: int, email: str, scope: str = "replies") -> None:
        """Subscribe and click the confirmation link."""
        r = await self.subscribe(comment_id, email, scope)
        assert r.status_code == 202, r.text
        (confirmation,) = await self.world.box.wait_for(email, 1)
        await subscriptions.confirm(self.world.svc, link_in(confirmation, "confirm"))


async def settle(world: MailWorld) -> None:
    """Let the outbox go through everything due now, twice (a claim may follow a send)."""
    await world.outbox.run_once()
    await world.outbox.run_once()


async def approve(world: MailWorld, site: str, comment_id: int) -> None:
    directory = SiteDirectory(world.store)
    await decide_comment(
        world.svc, await directory.get(site), comment_id, Action.APPROVE, moderator=None
    )


async def test_a_reply_mails_once_after_approval_never_while_held_never_ones_own(
    world: MailWorld,
) -> None:
    site = await world.new_site(moderation="all")
    asker, answerer = Reader(world, site), Reader(world, site)
    question = await asker.post("What is the airspeed of a swallow?")
    await approve(world, site, question["id"])
    await asker.subscribed(question["id"], "asker@example.test")

    held = await answerer.post("African or European?", parent=question["id"])
    await settle(world)
    assert len(world.box.to("asker@example.test")) == 1  # the confirmation only
    await approve(world, site, held["id"])
    mails = await world.box.wait_for("asker@example.test", 2)
    await settle(world)
    assert len(world.box.to("asker@example.test")) == 2
    reply = mails[1]
    assert "African or European?" in text_of(reply)
    assert reply["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/mail/unsubscribe?t=" in reply["List-Unsubscribe"]

    # Their own reply under their own comment tells them nothing (after the window, too).
    mine = await asker.post("Thanks!", parent=question["id"])
    await approve(world, site, mine["id"])
    world.clock.offset += WINDOW + 1
    await settle(world)
    assert len(world.box.to("asker@example.test")) == 2


async def test_a_reply_rejected_and_approved_again_is_not_news_twice(world: MailWorld) -> None:
    site = await world.new_site(moderation="all")
    asker, answerer = Reader(world, site), Reader(world, site)
    question = await asker.post("Is this on?")
    await approve(world, site, question["id"])
    await asker.subscribed(question["id"], "again@example.test")
    held = await answerer.post("Yes it is.", parent=question["id"])
    await approve(world, site, held["id"])
    await world.box.wait_for("again@example.test", 2)

    directory = SiteDirectory(world.store)
    await decide_comment(
        world.svc, await directory.get(site), held["id"], Action.REJECT, moderator=None
    )
    await approve(world, site, held["id"])  # it joins an open mail, which tells of nothing
    world.clock.offset += WINDOW + 1
    await settle(world)
    await settle(world)
    assert len(world.box.to("again@example.test")) == 2
    # The next real reply is not held back as a digest by the mail that told nothing.
    later = await answerer.post("Still on.", parent=question["id"])
    await approve(world, site, later["id"])
    mails = await world.box.wait_for("again@example.test", 3)
    assert "Still on." in text_of(mails[2]) and "Yes it is." not in text_of(mails[2])


async def test_a_mail_being_sent_is_not_claimed_again_with_the_next_news(
    world: MailWorld,
) -> None:
    """Fails when a claim takes every unsent row of the subscription: a row another sender
    has leased (still talking to SMTP) went out a second time with the next news once the
    window had passed."""
    site = await world.new_site()
    asker, answerer = Reader(world, site), Reader(world, site)
    question = await asker.post("Slow mail?")
    await asker.subscribed(question["id"], "slow@example.test")
    await world.outbox.close()  # only the claims below
    first = await answerer.post("First answer.", parent=question["id"])
    (leased,) = await world.outbox._claim()  # sending, as far as anyone knows
    world.clock.offset += WINDOW + 1
    second = await answerer.post("Second answer.", parent=question["id"])
    (claimed,) = await world.outbox._claim()
    assert [row.comment_ids for row in leased.rows] == [(first["id"],)]
    assert [row.comment_ids for row in claimed.rows] == [(second["id"],)]


async def test_twenty_replies_in_a_minute_are_one_mail_and_one_digest(world: MailWorld) -> None:
    site = await world.new_site()
    asker, crowd = Reader(world, site), Reader(world, site)
    question = await asker.post("Tabs or spaces?")
    await asker.subscribed(question["id"], "digest@example.test")
    for n in range(1, 21):
        await crowd.post(f"Answer number {n}.", parent=question["id"])
    first = (await world.box.wait_for("digest@example.test", 2))[1]
    assert "Answer number 1." in text_of(first)
    await settle(world)
    assert len(world.box.to("digest@example.test")) == 2  # the rest wait for the window

    world.clock.offset += WINDOW + 1
    world.outbox.wake()
    digest = (await world.box.wait_for("digest@example.test", 3))[2]
    # The first mail went at once (with whatever had arrived by then), the digest has the
    # rest: every answer exactly once across the two.
    told = text_of(first) + text_of(digest)
    assert all(told.count(f"Answer number {n}.") == 1 for n in range(1, 21)), told
    assert told.count("Answer number") == 20
    world.clock.offset += WINDOW + 1
    await settle(world)
    assert len(world.box.to("digest@example.test")) == 3


async def test_a_hot_threads_replies_across_full_mails_go_out_as_one_digest(
    world: MailWorld,
) -> None:
    """Its open mail fills up (some 100 ids) and the next news opens another: the sender
    sends a subscription's queued rows together, every reply counted once."""
    site = await world.new_site()
    asker = Reader(world, site)
    question = await asker.post("Busy, busy?")
    await asker.subscribed(question["id"], "busy@example.test")
    await world.outbox.close()  # only the rounds below send
    n = 0
    for batch in (200, 100, 20):
        for _ in range(batch):
            n += 1
            r = await world.http.post(
                f"/api/v1/sites/{site}/comments",
                json={"page": "p", "body": f"Busy reply {n}.", "parent": question["id"]},
                headers={"X-Forwarded-For": f"100.{120 + n // 250}.{n % 250}.9"},
            )
            assert r.status_code == 201, r.text
        await fanned_out(world.store, services=world.svc)
    async with world.store.read() as tx:
        queued = await tx.conn.execute(
            select(mail_outbox.c.comment_ids).where(
                mail_outbox.c.site_id == site,
                mail_outbox.c.kind == "reply",
                mail_outbox.c.sent_at.is_(None),
            )
        )
        assert len(queued.all()) >= 2
    await settle(world)
    (digest,) = world.box.to("busy@example.test")[1:]
    assert digest["Subject"] == f"320 new replies to your comment on {site}"
    assert "and 300 more" in text_of(digest)


async def test_a_thread_subscription_hears_of_every_new_comment_but_its_own(
    world: MailWorld,
) -> None:
    site = await world.new_site()
    follower, other = Reader(world, site), Reader(world, site)
    mine = await follower.post("I follow this page")
    await follower.subscribed(mine["id"], "thread@example.test", scope="thread")
    await follower.post("My own second comment")
    await settle(world)
    assert len(world.box.to("thread@example.test")) == 1
    await other.post("A new top-level comment")
    mail = (await world.box.wait_for("thread@example.test", 2))[1]
    assert "A new top-level comment" in text_of(mail)


def victims(box: Mailbox) -> list[Any]:
    return [msg for rcpts, msg in box.messages if any("victim" in r.lower() for r in rcpts)]


async def test_one_confirmation_per_address_a_day_across_sites_whatever_is_asked(
    world: MailWorld,
) -> None:
    first, second = await world.new_site(), await world.new_site()
    answers = []
    for site in (first, second):
        for _ in range(3):
            attacker = Reader(world, site)
            comment = await attacker.post("Mail bomb attempt")
            for email in ("victim@example.test", "Victim@EXAMPLE.test", "victim+x@example.test"):
                r = await attacker.subscribe(comment["id"], email)
                answers.append((r.status_code, r.json()))
    assert set(map(str, answers)) == {str((202, {"status": "check_your_inbox"}))}
    await settle(world)
    assert len(victims(world.box)) == 1
    assert await world.count(mail_throttle) >= 1

    # A day later the address may be asked again, once.
    world.clock.offset += 86_400 + 1
    attacker = Reader(world, first)
    comment = await attacker.post("Again")
    for _ in range(3):
        assert (await attacker.subscribe(comment["id"], "victim@example.test")).status_code == 202
    await world.box.wait_for("victim@example.test", 2)
    await settle(world)
    assert len(victims(world.box)) == 2


async def test_the_answer_is_the_same_for_new_pending_and_confirmed_addresses(
    world: MailWorld,
) -> None:
    site = await world.new_site()
    reader = Reader(world, site)
    comment = await reader.post("Hello")
    await reader.subscribed(comment["id"], "known@example.test")
    known = await reader.subscribe(comment["id"], "known@example.test", scope="thread")
    pending = await reader.subscribe(comment["id"], "pending@example.test")
    again = await reader.subscribe(comment["id"], "pending@example.test")
    for r in (known, pending, again):
        assert (r.status_code, r.json()) == (202, {"status": "check_your_inbox"})
    await world.box.wait_for("pending@example.test", 1)
    await settle(world)
    # The confirmed address was used at once: no second confirmation to it.
    assert len(world.box.to("known@example.test")) == 1
    assert len(world.box.to("pending@example.test")) == 1


async def test_addresses_are_sealed_at_rest_and_found_by_a_keyed_digest(world: MailWorld) -> None:
    site = await world.new_site()
    reader = Reader(world, site)
    comment = await reader.post("Hello")
    assert (await reader.subscribe(comment["id"], "sealed@example.test")).status_code == 202
    async with world.store.read() as tx:
        rows = (await tx.conn.execute(select(mail_addresses))).all()
    dumped = repr(rows)
    assert "sealed@example.test" not in dumped and "example.test" not in dumped
    assert all(row.sealed.startswith("sealed.v1.") for row in rows)


async def test_links_are_signed_per_purpose_and_tampered_ones_refused(world: MailWorld) -> None:
    site = await world.new_site()
    reader, other = Reader(world, site), Reader(world, site)
    comment = await reader.post("Hello")
    await reader.subscribed(comment["id"], "links@example.test")
    await other.post("A reply", parent=comment["id"])
    mail = (await world.box.wait_for("links@example.test", 2))[1]
    unsubscribe = link_in(mail, "unsubscribe")
    manage = link_in(mail, "manage")
    for token, use in (
        (unsubscribe[:-2] + ("AA" if not unsubscribe.endswith("AA") else "BB"), "unsubscribe"),
        (manage, "unsubscribe"),  # a manage link is not an unsubscribe link
        (unsubscribe, "confirm"),
        ("", "confirm"),
        ("x" * 2000, "manage"),
    ):
        use_link = {
            "unsubscribe": subscriptions.unsubscribe,
            "confirm": subscriptions.confirm,
            "manage": subscriptions.manage,
        }[use]
        with pytest.raises(Invalid) as refused:
            await use_link(world.svc, token)
        assert refused.value.code == "invalid_link"
    listed = await subscriptions.manage(world.svc, manage)
    assert [row["scope"] for row in listed] == ["replies"]
    assert "links@example.test" not in repr(listed)
    await subscriptions.unsubscribe(world.svc, unsubscribe)
    await subscriptions.unsubscribe(world.svc, unsubscribe)  # twice: the same answer
    assert await subscriptions.manage(world.svc, manage) == []


async def test_erasure_removes_addresses_subscriptions_and_queued_mail(world: MailWorld) -> None:
    site = await world.new_site()
    reader, other = Reader(world, site), Reader(world, site)
    comment = await reader.post("Forget me")
    await reader.subscribed(comment["id"], "erase@example.test")
    world.outbox.poll = 3600.0  # keep the next mail queued
    await world.outbox.close()
    await other.post("A reply", parent=comment["id"])
    assert await world.count(mail_outbox, mail_outbox.c.site_id == site) == 2  # sent + queued
    r = await world.http.delete(f"/api/v1/sites/{site}/authors/me", headers=reader.headers())
    assert r.status_code == 200, r.text
    for table in (mail_addresses, subs, mail_outbox):
        assert await world.count(table, table.c.site_id == site) == 0
    await settle(world)
    assert len(world.box.to("erase@example.test")) == 1


async def test_bad_requests_are_refused_with_json_errors(world: MailWorld) -> None:
    site = await world.new_site()
    reader, other = Reader(world, site), Reader(world, site)
    comment = await reader.post("Hello")
    theirs = await other.post("Not yours")
    cases = [
        (
            reader,
            comment["id"],
            {"email": "not an address", "scope": "replies"},
            422,
            "invalid_email",
        ),
        (
            reader,
            comment["id"],
            {"email": "a@b.test\r\nBcc: x@y.test", "scope": "replies"},
            422,
            "invalid_email",
        ),
        (reader, comment["id"], {"email": "a@b.test", "scope": "everything"}, 422, "invalid_scope"),
        (reader, theirs["id"], {"email": "a@b.test", "scope": "replies"}, 403, "not_your_comment"),
        (reader, 999_999_999, {"email": "a@b.test", "scope": "thread"}, 404, "comment_not_found"),
        (Reader(world, site), comment["id"], {"email": "a@b.test", "scope": "thread"}, 401, None),
    ]
    for who, comment_id, body, status, code in cases:
        r = await world.http.post(
            f"/api/v1/sites/{site}/comments/{comment_id}/subscribe",
            json=body,
            headers=who.headers(),
        )
        assert r.status_code == status, (body, r.text)
        if code:
            assert r.json()["error"]["code"] == code
    # Thread scope on someone else's published comment is fine.
    assert (await reader.subscribe(theirs["id"], "a@b.test", scope="thread")).status_code == 202


async def test_without_smtp_subscribing_answers_mail_off(
    asgi_app: Any, backend_store: SqlStore
) -> None:
    site = f"off{int(time.time() * 1000) % 100000}"
    await add_site(command_services(backend_store, SECRET), site, origins=(ORIGIN,), mode="none")
    transport = httpx.ASGITransport(app=asgi_app, client=("203.0.113.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        posted = await http.post(f"/api/v1/sites/{site}/comments", json={"page": "p", "body": "Hi"})
        token = posted.json()["author_token"]
        r = await http.post(
            f"/api/v1/sites/{site}/comments/{posted.json()['comment']['id']}/subscribe",
            json={"email": "a@b.test", "scope": "replies"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert r.status_code == 403 and r.json()["error"]["code"] == "mail_off"
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        listing = await http.get(f"/api/v1/sites/{site}/thread", params={"page": "p"})
    # The listing says so: the widget offers no e-mail form.
    assert listing.json()["config"]["mail"] is False


async def test_with_smtp_and_a_public_url_the_listing_says_mail_is_on(world: MailWorld) -> None:
    site = await world.new_site()
    await Reader(world, site).post("Hello")
    listing = await world.http.get(f"/api/v1/sites/{site}/thread", params={"page": "p"})
    assert listing.status_code == 200
    assert listing.json()["config"]["mail"] is True


async def test_a_dead_smtp_server_does_not_slow_posting_and_mail_is_retried(
    world: MailWorld,
) -> None:
    site = await world.new_site()
    reader, other = Reader(world, site), Reader(world, site)
    comment = await reader.post("Hello")
    await reader.subscribed(comment["id"], "retry@example.test")
    world.box.refuse = True
    started = time.monotonic()
    await other.post("A reply while SMTP is down", parent=comment["id"])
    assert time.monotonic() - started < 2.0  # posting never waits for SMTP
    await world.box.wait_refused(1)
    world.box.refuse = False
    mail = (await world.box.wait_for("retry@example.test", 2, timeout=15))[1]
    assert "A reply while SMTP is down" in text_of(mail)


async def test_the_mail_pages_confirm_and_unsubscribe_with_a_post_and_refuse_tampered_links(
    world: MailWorld,
) -> None:
    site = await world.new_site()
    reader, other = Reader(world, site), Reader(world, site)
    comment = await reader.post("Hello")
    assert (await reader.subscribe(comment["id"], "pages@example.test")).status_code == 202
    (confirmation,) = await world.box.wait_for("pages@example.test", 1)
    token = link_in(confirmation, "confirm")

    shown = await world.http.get("/mail/confirm", params={"t": token})
    assert shown.status_code == 200 and "<form" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert shown.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in shown.headers["content-security-policy"]
    await other.post("Not yet: a GET confirms nothing", parent=comment["id"])
    await settle(world)
    assert len(world.box.to("pages@example.test")) == 1

    tampered = await world.http.post("/mail/confirm", data={"t": token[:-3] + "abc"})
    assert tampered.status_code == 422 and "pages@example.test" not in tampered.text
    confirmed = await world.http.post("/mail/confirm", data={"t": token})
    assert confirmed.status_code == 200

    await other.post("Now you hear of it", parent=comment["id"])
    mail = (await world.box.wait_for("pages@example.test", 2))[1]
    one_click = mail["List-Unsubscribe"].strip("<>")
    assert one_click.startswith("https://comments.blog.test/mail/unsubscribe?t=")
    path = one_click.removeprefix("https://comments.blog.test")
    refused = await world.http.post(
        path[:-2] + "xx",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert refused.status_code == 422
    manage = link_in(mail, "manage")
    listed = await world.http.get("/mail/manage", params={"t": manage})
    assert listed.status_code == 200 and "Replies to your comment" in listed.text
    assert "pages@example.test" not in listed.text

    done = await world.http.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and "set-cookie" not in done.headers
    assert await world.count(subs, subs.c.site_id == site) == 0
    again = await world.http.post(path, content=b"List-Unsubscribe=One-Click")
    assert again.status_code == 200
    world.clock.offset += WINDOW + 1
    await other.post("You hear nothing of this", parent=comment["id"])
    await settle(world)
    assert len(world.box.to("pages@example.test")) == 2


async def test_the_manage_page_removes_one_or_all(world: MailWorld) -> None:
    site = await world.new_site()
    reader, other = Reader(world, site), Reader(world, site)
    first = await reader.post("First", page="one")
    second = await reader.post("Second", page="two")
    await reader.subscribed(first["id"], "manage@example.test")
    assert (
        await reader.subscribe(second["id"], "manage@example.test", "thread")
    ).status_code == 202
    await other.post("A reply", parent=first["id"], page="one")
    mail = (await world.box.wait_for("manage@example.test", 2))[1]
    manage = link_in(mail, "manage")
    listed = await subscriptions.manage(world.svc, manage)
    assert len(listed) == 2
    one = await world.http.post("/mail/manage", data={"t": manage, "id": str(listed[0]["id"])})
    assert one.status_code == 200
    assert len(await subscriptions.manage(world.svc, manage)) == 1
    bad = await world.http.post("/mail/manage", data={"t": manage, "id": "1; DROP"})
    assert bad.status_code == 422
    everything = await world.http.post("/mail/manage", data={"t": manage, "id": "all"})
    assert everything.status_code == 200 and "follows nothing" in everything.text
    assert await subscriptions.manage(world.svc, manage) == []


def test_the_mail_pages_texts_exist_in_every_language() -> None:
    from server.i18n import LANGUAGES, SOURCE, catalogue
    from server.web.mail_pages import ENGLISH

    for lang in LANGUAGES:
        if lang != SOURCE:
            assert set(catalogue(lang)["mailpages"]) == set(ENGLISH), lang


async def test_two_senders_on_their_own_connections_never_send_one_row_twice(
    world: MailWorld, backend_db: str
) -> None:
    """Two outboxes (as two processes have: their own store, their own connections) claim
    the same due rows at once; every row goes out exactly once."""
    site = await world.new_site()
    await world.outbox.close()  # only the two below send
    readers = [Reader(world, site) for _ in range(40)]
    for n, reader in enumerate(readers):
        comment = await reader.post(f"Comment {n}")
        assert (await reader.subscribe(comment["id"], f"twice{n}@example.test")).status_code == 202
    other_store = SqlStore(backend_db)
    try:
        other = MailOutbox(world.outbox.settings, other_store, world.clock)
        first, second = await asyncio.gather(world.outbox.run_once(), other.run_once())
        assert first + second == 40
        await asyncio.gather(world.outbox.run_once(), other.run_once())
    finally:
        await other_store.close()
    for n in range(40):
        assert len(world.box.to(f"twice{n}@example.test")) == 1


async def test_with_notifications_off_nobody_is_told_and_nothing_is_queued(
    backend_db: str, tmp_path: Path, mailbox: tuple[Mailbox, int]
) -> None:
    """THREADLINE_NOTIFICATIONS=0: replies, decisions and reactions write no notification
    and queue no mail, and subscribing answers mail_off (the operator promised none)."""
    _, port = mailbox
    app = create_app(
        settings_for(
            backend_db,
            tmp_path,
            smtp_url=f"smtp://127.0.0.1:{port}",
            public_url="https://comments.blog.test",
            notifications=False,
        )
    )
    store = SqlStore(backend_db)
    site = f"quiet{next(sites)}"
    await add_site(command_services(store, SECRET), site, origins=(ORIGIN,), mode="none")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            asked = await http.post(
                f"/api/v1/sites/{site}/comments", json={"page": "p", "body": "Q"}
            )
            token, question = asked.json()["author_token"], asked.json()["comment"]["id"]
            mine = {"Authorization": f"Bearer {token}"}
            r = await http.post(
                f"/api/v1/sites/{site}/comments/{question}/subscribe",
                json={"email": "a@reader.test", "scope": "replies"},
                headers=mine,
            )
            assert r.status_code == 403 and r.json()["error"]["code"] == "mail_off"
            # The listing says so too: the widget offers no e-mail form.
            thread = await http.get(f"/api/v1/sites/{site}/thread", params={"page": "p"})
            assert thread.json()["config"]["mail"] is False
            await http.post(
                f"/api/v1/sites/{site}/comments",
                json={"page": "p", "body": "A", "parent": question},
                headers={"X-Forwarded-For": "198.51.100.4"},
            )
            listing = await http.get(f"/api/v1/sites/{site}/notifications", headers=mine)
            assert listing.json()["notifications"] == [] and listing.json()["unread"] == 0
    async with store.read() as tx:
        queued = (
            await tx.conn.execute(
                select(func.count()).select_from(mail_outbox).where(mail_outbox.c.site_id == site)
            )
        ).scalar_one()
    await store.close()
    assert queued == 0


async def delivered(box: Mailbox, expected: int) -> list[Any]:
    """Every message the server sent, once ``expected`` arrived (the outbox's own task may
    be sending one this test's rounds did not claim) and a moment more for any extra."""
    for _ in range(100):
        if len(box.messages) >= expected:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    return [message for _, message in box.messages]


async def test_one_confirmation_reaches_a_gmail_inbox_however_its_address_is_spelled(
    world: MailWorld,
) -> None:
    """(Review of #18: dots and the googlemail alias each brought the inbox a mail.)"""
    site = await world.new_site()
    spellings = [
        "victim@gmail.com",
        "v.ictim@gmail.com",
        "vic.tim@gmail.com",
        "Victim+x@GMAIL.com",
        "victim@googlemail.com",
    ]
    for email in spellings:
        attacker = Reader(world, site)
        comment = await attacker.post("Which inbox?")
        assert (await attacker.subscribe(comment["id"], email)).status_code == 202
    await settle(world)
    assert len(await delivered(world.box, 1)) == 1


async def test_made_up_tokens_and_one_network_cannot_ask_for_mail_without_end(
    world: MailWorld,
) -> None:
    """(Review of #18: any well-formed token was a fresh limit, so one network could have
    a confirmation sent to every address it liked.)"""
    site = await world.new_site()
    poster = Reader(world, site)
    comment = await poster.post("Anyone may follow this thread")
    made_up = Reader(world, site)
    made_up.token = "A" * 43
    r = await made_up.subscribe(comment["id"], "someone@example.test", "thread")
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"

    # Real readers, all on one network: the network's limit holds whoever asks.
    network = Reader(world, site).ip
    statuses = []
    for n in range(22):
        reader = Reader(world, site)
        reader.ip = network
        mine = await reader.post(f"Mine {n}", page=f"n{n}")
        statuses.append((await reader.subscribe(mine["id"], f"target{n}@example.test")).status_code)
    assert statuses[:20] == [202] * 20 and set(statuses[20:]) == {429}


async def test_confirmations_take_half_the_daily_cap_at_most_and_never_carry_over(
    backend_db: str, tmp_path: Path, mailbox: tuple[Mailbox, int]
) -> None:
    """(Review of #18: a burst of confirmations used the whole cap, and what it could not
    send ate the next days' too, so readers' replies were not mailed.)"""
    box, port = mailbox
    clock = Clock()
    app = create_app(
        settings_for(
            backend_db,
            tmp_path,
            smtp_url=f"smtp://127.0.0.1:{port}",
            public_url="https://comments.blog.test",
            mail_daily_cap=4,
            rate_limit=0,
        ),
        clock=clock,
    )
    store = SqlStore(backend_db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            world = MailWorld(http, store, box, clock, app)
            world.outbox.poll = 3600  # this test drives the outbox itself
            site = await world.new_site()
            for n in range(6):
                asker = Reader(world, site)
                question = await asker.post(f"Question {n}")
                assert (await asker.subscribe(question["id"], f"c{n}@example.test")).status_code
            await settle(world)
            assert len(await delivered(box, 2)) == 2  # half of 4
            queued = await world.count(mail_outbox, mail_outbox.c.sent_at.is_(None))
            assert queued == 0  # the rest dropped, not waiting for tomorrow
    await store.close()


async def test_a_manage_link_covers_exactly_its_own_address(world: MailWorld) -> None:
    """(Review of #18: 'alice+evil@' got a link that listed and removed alice's.)"""
    site = await world.new_site()
    alice, evil = Reader(world, site), Reader(world, site)
    mine = await alice.post("Alice asks")
    await alice.subscribed(mine["id"], "alice@example.test")
    world.clock.offset += 86_400 + 1  # past the inbox's confirmation cap
    theirs = await evil.post("Evil asks")
    await evil.subscribed(theirs["id"], "alice+evil@example.test")
    (evil_confirmation,) = await world.box.wait_for("alice+evil@example.test", 1)
    manage = link_in(evil_confirmation, "manage")
    listed = await subscriptions.manage(world.svc, manage)
    assert [row["id"] for row in listed] == [
        row["id"] for row in listed if row["page"]["key"] == "p"
    ]
    assert len(listed) == 1
    await subscriptions.remove(world.svc, manage, None)
    assert await world.count(subs, subs.c.site_id == site) == 1  # alice's stays


async def test_an_address_nobody_confirmed_is_forgotten_when_its_link_expires(
    world: MailWorld,
) -> None:
    """(Review of #18: unconfirmed addresses were kept forever.)"""
    from server.core.erasure import forget_old_data

    site = await world.new_site()
    reader = Reader(world, site)
    comment = await reader.post("Never confirmed")
    assert (await reader.subscribe(comment["id"], "never@example.test")).status_code == 202
    await settle(world)
    assert await world.count(mail_addresses, mail_addresses.c.site_id == site) == 1
    world.clock.offset += 8 * 86_400
    await forget_old_data(world.svc)
    assert await world.count(mail_addresses, mail_addresses.c.site_id == site) == 0
    assert await world.count(subs, subs.c.site_id == site) == 0


async def test_odd_forms_on_the_link_pages_are_refused_not_500(world: MailWorld) -> None:
    """(Review of #18: '²' passed isdigit() and too many fields raised.)"""
    many = "&".join(f"a{i}=1" for i in range(12))
    for path, body in (
        ("/mail/manage", "t=x&id=%C2%B2"),
        ("/mail/manage", many),
        ("/mail/unsubscribe", many),
        ("/mail/confirm", many),
    ):
        r = await world.http.post(
            path, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert 400 <= r.status_code < 500, (path, body, r.status_code)


async def test_a_mail_that_cannot_be_built_for_a_moment_is_sent_later_not_lost(
    world: MailWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database went away while a mail was being built (after its claim): the mail is
    tried again later, like a failed send, never marked sent with nothing sent."""
    site = await world.new_site()
    reader, other = Reader(world, site), Reader(world, site)
    comment = await reader.post("Hello")
    await reader.subscribed(comment["id"], "blip@example.test")
    await world.outbox.close()  # only the rounds below send
    real_build = MailOutbox._build
    failures = [Unavailable("database_unavailable", "the database is unreachable")]

    async def flaky_build(self: MailOutbox, tx: Any, job: Any) -> Any:
        if failures:
            raise failures.pop()
        return await real_build(self, tx, job)

    monkeypatch.setattr(MailOutbox, "_build", flaky_build)
    await other.post("A reply during a database blip", parent=comment["id"])
    await world.outbox.run_once()  # claimed, then the build fails
    assert not failures
    world.clock.offset += 1.0  # past the first retry's 0.2 s
    await settle(world)
    mail = (await world.box.wait_for("blip@example.test", 2, timeout=15))[1]
    assert "A reply during a database blip" in text_of(mail)
