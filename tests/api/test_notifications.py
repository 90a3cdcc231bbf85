"""Readers' stored notifications over the API, on SQLite and PostgreSQL: replies (never
one's own, none while held), moderators' decisions and replies, reactions summarised in one
row per comment, paging, read marks, deletion, tombstones, erasure and the 30-day prune."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
from sqlalchemy import func, select

from server.core.comments import Draft, post_comment
from server.core.context import Services, command_services
from server.core.decisions import Action, decide_comment
from server.core.erasure import forget_old_data
from server.core.models import Filters
from server.core.sites import SiteDirectory, update_site
from server.store.schema import notifications
from tests.support.api import ORIGIN, Api, Clock
from tests.support.config import SECRET
from tests.support.sso import claims, enable_sso, hs256_key

networks = itertools.count(1)


def new_network() -> str:
    """An address on a /24 no other reader in these tests uses."""
    n = next(networks)
    return f"100.{64 + n // 250 % 60}.{n % 250}.{9 + n // 15000}"


class Reader:
    """One reader on one network, keeping the author token their first post brought."""

    def __init__(self, api: Api, site: str) -> None:
        self.api, self.site, self.ip = api, site, new_network()
        self.token: str | None = None

    def headers(self, **extra: str) -> dict[str, str]:
        out = {"X-Forwarded-For": self.ip, **extra}
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        return out

    async def post(self, body: str, parent: int | None = None, page: str = "p") -> dict[str, Any]:
        extra: dict[str, Any] = {} if parent is None else {"parent": parent}
        posted = await self.api.post(
            self.site, page, body, token=self.token, headers={"X-Forwarded-For": self.ip}, **extra
        )
        self.token = self.token or posted["author_token"]
        await self.api.fanned_out()
        comment: dict[str, Any] = posted["comment"]
        return comment

    async def listing(self, cursor: str | None = None, **headers: str) -> httpx.Response:
        return await self.api.http.get(
            f"/api/v1/sites/{self.site}/notifications",
            params={"cursor": cursor} if cursor else {},
            headers=self.headers(**headers),
        )

    async def notes(self) -> dict[str, Any]:
        r = await self.listing()
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        data: dict[str, Any] = r.json()
        return data

    async def mark(self, body: dict[str, Any]) -> httpx.Response:
        return await self.api.http.post(
            f"/api/v1/sites/{self.site}/notifications/read", json=body, headers=self.headers()
        )

    async def delete(self, notification_id: int) -> httpx.Response:
        return await self.api.http.delete(
            f"/api/v1/sites/{self.site}/notifications/{notification_id}", headers=self.headers()
        )

    async def react(self, comment_id: int, reaction: str | None) -> None:
        url = f"/api/v1/sites/{self.site}/comments/{comment_id}/reaction"
        if reaction is None:
            r = await self.api.http.delete(url, headers=self.headers())
        else:
            r = await self.api.http.put(url, json={"reaction": reaction}, headers=self.headers())
        assert r.status_code == 200, r.text
        self.token = self.token or r.json().get("token")


def kinds(listing: dict[str, Any]) -> list[tuple[str, int]]:
    return [(n["kind"], n["comment"]["id"]) for n in listing["notifications"]]


async def decide(api: Api, site: str, comment_id: int, action: Action) -> None:
    services = command_services(api.store, SECRET)
    await decide_comment(
        services, await SiteDirectory(api.store).get(site), comment_id, action, moderator=None
    )


async def test_a_reply_tells_the_parents_author_never_their_own(api: Api) -> None:
    site = await api.new_site()
    asker, answerer, third = Reader(api, site), Reader(api, site), Reader(api, site)
    question = await asker.post("A question?")
    assert (await asker.notes())["notifications"] == []
    await asker.post("Answering myself", parent=question["id"])
    assert (await asker.notes())["unread"] == 0  # one's own reply tells nobody

    answer = await answerer.post("An answer", parent=question["id"])
    listing = await asker.notes()
    assert kinds(listing) == [("reply", answer["id"])]
    assert listing["unread"] == 1 and listing["has_more"] is False and listing["cursor"] is None
    note = listing["notifications"][0]
    assert note["comment"]["body"] == "An answer"
    assert note["page"] == {"key": "p", "url": None, "title": None}
    assert note["actors"] == 1 and note["read"] is False
    assert (await answerer.notes())["notifications"] == []

    # A reply to a reply tells both authors, once each.
    follow_up = await third.post("Replying to the answer", parent=answer["id"])
    assert kinds(await answerer.notes()) == [("reply", follow_up["id"])]
    assert kinds(await asker.notes())[0] == ("reply", follow_up["id"])
    # The answerer answering their own answer's reply: the third reader hears, they do not.
    await answerer.post("Thanks", parent=follow_up["id"])
    assert len((await answerer.notes())["notifications"]) == 1
    assert len((await third.notes())["notifications"]) == 1


async def test_a_held_reply_tells_nobody_until_approved(asgi_api: Api) -> None:
    api = asgi_api
    site = await api.new_site(moderation="all")
    asker, answerer = Reader(api, site), Reader(api, site)
    question = await asker.post("Held question")
    assert (await asker.notes())["notifications"] == []
    await decide(api, site, question["id"], Action.APPROVE)
    assert kinds(await asker.notes()) == [("approved", question["id"])]

    answer = await answerer.post("Held answer", parent=question["id"])
    assert answer["status"] == "pending"
    assert len((await asker.notes())["notifications"]) == 1  # nothing while held
    await decide(api, site, answer["id"], Action.APPROVE)
    assert kinds(await asker.notes())[0] == ("reply", answer["id"])
    assert kinds(await answerer.notes()) == [("approved", answer["id"])]

    for action in (Action.REJECT, Action.SPAM):
        held = await answerer.post(f"Declined {action.value}", parent=question["id"])
        await decide(api, site, held["id"], action)
        first = (await answerer.notes())["notifications"][0]
        assert (first["kind"], first["comment"]["id"]) == ("rejected", held["id"])
        # Its text is not shown, even to its author: the comment left (never reached) view.
        assert first["comment"]["body"] == "" and first["comment"]["status"] == "deleted"
    assert len((await asker.notes())["notifications"]) == 2  # rejected replies tell nobody


async def test_a_reply_held_by_flags_and_approved_again_is_not_news_twice(
    asgi_api: Api,
) -> None:
    api = asgi_api
    site = await api.new_site()
    await update_site(command_services(api.store, SECRET), site, filters=Filters(flag_threshold=1))
    asker, answerer, flagger = Reader(api, site), Reader(api, site), Reader(api, site)
    question = await asker.post("Question")
    answer = await answerer.post("Contested answer", parent=question["id"])
    await flagger.post("Elsewhere", page="q")
    r = await api.http.post(
        f"/api/v1/sites/{site}/comments/{answer['id']}/flag", headers=flagger.headers()
    )
    assert r.status_code == 200, r.text
    # Held by the flag: its notification shows the tombstone meanwhile.
    assert (await asker.notes())["notifications"][0]["comment"]["status"] == "deleted"
    await decide(api, site, answer["id"], Action.APPROVE)
    assert kinds(await asker.notes()) == [("reply", answer["id"])]
    assert (await asker.notes())["notifications"][0]["comment"]["body"] == "Contested answer"


async def test_a_moderators_reply_says_so(asgi_api: Api) -> None:
    api = asgi_api
    site_id = await api.new_site()
    asker = Reader(api, site_id)
    question = await asker.post("For the moderators")
    services: Services = command_services(api.store, SECRET)
    site = await SiteDirectory(api.store).get(site_id)
    posted = await post_comment(
        services,
        site,
        Draft(page="p", body="A moderator answers", parent=question["id"]),
        token=None,
        client_ip="192.0.2.10",
        moderator=True,
    )
    await api.fanned_out()
    assert kinds(await asker.notes()) == [("moderator_reply", posted.comment.id)]


async def test_reactions_are_one_row_updated_in_place(asgi_api: Api, time_travel: Clock) -> None:
    api = asgi_api
    site = await api.new_site()
    author = Reader(api, site)
    comment = await author.post("React to me")
    fans = [Reader(api, site) for _ in range(3)]
    await fans[0].react(comment["id"], "up")
    listing = await author.notes()
    assert kinds(listing) == [("reactions", comment["id"])]
    assert listing["notifications"][0]["actors"] == 1
    note_id = listing["notifications"][0]["id"]
    assert (await author.mark({"all": True})).json() == {"unread": 0}

    time_travel.offset = 5
    await fans[1].react(comment["id"], "down")
    await fans[2].react(comment["id"], "up")
    listing = await author.notes()
    assert len(listing["notifications"]) == 1
    note = listing["notifications"][0]
    assert (note["id"], note["actors"], note["read"]) == (note_id, 3, False)  # unread again
    assert note["updated_at"] > note["created_at"]
    assert listing["unread"] == 1

    # Taken back: the count follows, the row is not renewed.
    await author.mark({"ids": [note_id]})
    await fans[2].react(comment["id"], None)
    note = (await author.notes())["notifications"][0]
    assert (note["actors"], note["read"]) == (2, True)
    # An unread summary whose reactions are all taken back goes.
    await fans[0].react(comment["id"], "up")  # no change: already "up", nothing renewed
    await fans[1].react(comment["id"], "up")  # a change renews it
    assert (await author.notes())["unread"] == 1
    await fans[0].react(comment["id"], None)
    await fans[1].react(comment["id"], None)
    assert (await author.notes())["notifications"] == []
    for fan in fans:
        assert (await fan.notes())["notifications"] == []  # reacting tells the reactor nothing


async def test_paging_read_marks_and_deletion(asgi_api: Api, time_travel: Clock) -> None:
    api = asgi_api
    site = await api.new_site()
    asker = Reader(api, site)
    question = await asker.post("Many answers please")
    answers = []
    for n in range(23):
        time_travel.offset = n  # distinct times; ids break ties anyway
        answers.append((await Reader(api, site).post(f"Answer {n}", parent=question["id"]))["id"])

    first = await asker.notes()
    assert [c for _, c in kinds(first)] == answers[::-1][:20]
    assert first["unread"] == 23 and first["has_more"] is True
    second = (await asker.listing(first["cursor"])).json()
    assert [c for _, c in kinds(second)] == answers[::-1][20:]
    assert second["has_more"] is False and second["cursor"] is None
    bad = await asker.listing("bm90IG1pbmU")
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_cursor")

    ids = [n["id"] for n in first["notifications"][:3]]
    assert (await asker.mark({"ids": ids})).json() == {"unread": 20}
    assert [n["read"] for n in (await asker.notes())["notifications"][:4]] == [
        True,
        True,
        True,
        False,
    ]
    refused = await asker.mark({"ids": "all"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "invalid_ids")

    # Another reader can neither mark nor delete them: theirs are their own.
    stranger = Reader(api, site)
    await stranger.post("Just passing")
    assert (await stranger.mark({"ids": ids[3:]})).json() == {"unread": 0}
    gone = await stranger.delete(ids[0])
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "notification_not_found")
    assert (await asker.notes())["unread"] == 20

    assert (await asker.delete(ids[0])).status_code == 204
    assert (await asker.delete(ids[0])).status_code == 404
    assert (await asker.mark({"all": True})).json() == {"unread": 0}
    listing = (await asker.listing(first["cursor"])).json()
    assert ids[0] not in [n["id"] for n in (await asker.notes())["notifications"]]
    assert listing["unread"] == 0


async def test_a_comment_gone_from_view_shows_only_its_tombstone(asgi_api: Api) -> None:
    api = asgi_api
    site = await api.new_site()
    asker, answerer = Reader(api, site), Reader(api, site)
    question = await asker.post("Tell me")
    answer = await answerer.post("Secret words xyzzy", parent=question["id"])
    await decide(api, site, answer["id"], Action.DELETE)
    r = await asker.listing()
    assert "xyzzy" not in r.text
    note = r.json()["notifications"][0]
    assert note["comment"]["id"] == answer["id"] and note["comment"]["status"] == "deleted"

    # The author deleting their own reply: the same.
    again = await answerer.post("Plugh words", parent=question["id"])
    deleted = await api.http.delete(
        f"/api/v1/sites/{site}/comments/{again['id']}", headers=answerer.headers()
    )
    assert deleted.status_code in (200, 204), deleted.text
    assert "Plugh" not in (await asker.listing()).text


async def test_erasure_removes_theirs_and_those_about_their_comments(api: Api) -> None:
    site = await api.new_site()
    asker, answerer = Reader(api, site), Reader(api, site)
    question = await asker.post("Ask")
    answer = await answerer.post("Answer", parent=question["id"])
    await asker.post("Thanks", parent=answer["id"])
    assert len((await asker.notes())["notifications"]) == 1
    assert len((await answerer.notes())["notifications"]) == 1

    # A reader who reacted and then erases their data: the summary counts them no more.
    fan, other_fan = Reader(api, site), Reader(api, site)
    await fan.react(question["id"], "up")
    await other_fan.react(question["id"], "up")
    r = await api.http.delete(f"/api/v1/sites/{site}/authors/me", headers=fan.headers())
    assert r.status_code == 200, r.text
    summary = [n for n in (await asker.notes())["notifications"] if n["kind"] == "reactions"]
    assert [n["actors"] for n in summary] == [1]
    await other_fan.react(question["id"], None)
    assert kinds(await asker.notes()) == [("reply", answer["id"])]

    erased = await api.http.delete(f"/api/v1/sites/{site}/authors/me", headers=answerer.headers())
    assert erased.status_code == 200, erased.text
    # What they were told, and what the asker was told of their answer, are gone.
    assert (await asker.notes())["notifications"] == []
    async with api.store.read() as tx:
        left = (
            await tx.conn.execute(
                select(func.count())
                .select_from(notifications)
                .where(notifications.c.site_id == site)
            )
        ).scalar_one()
    assert left == 0


async def test_notifications_are_pruned_30_days_after_their_last_change(
    asgi_api: Api, time_travel: Clock, asgi_app: Any
) -> None:
    api = asgi_api
    site = await api.new_site()
    asker = Reader(api, site)
    question = await asker.post("Old question")
    await Reader(api, site).post("Old answer", parent=question["id"])
    services = asgi_app.state.tl.services
    time_travel.offset = 29 * 86400
    await Reader(api, site).post("Newer answer", parent=question["id"])
    await forget_old_data(services)
    assert len((await asker.notes())["notifications"]) == 2
    time_travel.offset = 30 * 86400 + 60
    await forget_old_data(services)
    assert [n["comment"]["body"] for n in (await asker.notes())["notifications"]] == [
        "Newer answer"
    ]


async def test_a_token_is_required_and_other_sites_and_origins_are_refused(api: Api) -> None:
    site, other_site = await api.new_site(), await api.new_site()
    asker = Reader(api, site)
    question = await asker.post("Mine")
    await Reader(api, site).post("Reply", parent=question["id"])
    for r in (
        await api.http.get(f"/api/v1/sites/{site}/notifications"),
        await api.http.post(f"/api/v1/sites/{site}/notifications/read", json={"all": True}),
        await api.http.delete(f"/api/v1/sites/{site}/notifications/1"),
    ):
        assert (r.status_code, r.json()["error"]["code"]) == (401, "invalid_token")
    foreign = await asker.listing(Origin="http://evil.test")
    assert foreign.status_code == 403
    assert (await asker.listing(Origin=ORIGIN)).status_code == 200
    # The same token on another site names nobody there.
    elsewhere = await api.http.get(
        f"/api/v1/sites/{other_site}/notifications", headers=asker.headers()
    )
    assert elsewhere.status_code == 200 and elsewhere.json()["notifications"] == []


async def test_a_signed_in_reader_hears_back_on_their_session(asgi_api: Api) -> None:
    api = asgi_api
    site = await api.new_site()
    key = hs256_key()
    await enable_sso(api.store, site, key)
    r = await api.http.post(
        f"/api/v1/sites/{site}/sso/session",
        json={"token": key.sign(claims(site, sub="grace", name="Grace"))},
    )
    assert r.status_code == 200, r.text
    reader = Reader(api, site)
    reader.token = r.json()["session"]
    question = await reader.post("Signed in and asking")
    answer = await Reader(api, site).post("Answered", parent=question["id"])
    assert kinds(await reader.notes()) == [("reply", answer["id"])]


async def count_rows(api: Api, site: str) -> int:
    async with api.store.read() as tx:
        return int(
            (
                await tx.conn.execute(
                    select(func.count())
                    .select_from(notifications)
                    .where(notifications.c.site_id == site)
                )
            ).scalar_one()
        )


async def test_a_reader_who_signs_in_keeps_what_their_token_was_told_and_erasing_erases_it(
    asgi_api: Api,
) -> None:
    """(Review of #18: the notifications of the token stayed behind after a claim, and
    outlived the signed-in reader's erasure.)"""
    api = asgi_api
    site = await api.new_site()
    key = hs256_key()
    await enable_sso(api.store, site, key)
    asker = Reader(api, site)
    question = await asker.post("Asked before signing in")
    answer = await Reader(api, site).post("Answered", parent=question["id"])
    r = await api.http.post(
        f"/api/v1/sites/{site}/sso/session",
        json={"token": key.sign(claims(site, sub="ada", name="Ada")), "author_token": asker.token},
    )
    assert r.status_code == 200, r.text
    signed_in = Reader(api, site)
    signed_in.ip, signed_in.token = asker.ip, r.json()["session"]
    r = await api.http.post(
        f"/api/v1/sites/{site}/sso/claim",
        json={"author_token": asker.token},
        headers=signed_in.headers(),
    )
    assert r.json() == {"claimed": 1}, r.text
    assert kinds(await signed_in.notes()) == [("reply", answer["id"])]
    assert (await asker.notes())["notifications"] == []

    erased = await api.http.delete(f"/api/v1/sites/{site}/authors/me", headers=signed_in.headers())
    assert erased.status_code == 200, erased.text
    assert (await asker.notes())["notifications"] == []
    assert (await signed_in.listing()).status_code == 401  # erasure ended the session too
    assert await count_rows(api, site) == 0


async def test_marking_read_and_deleting_are_limited_per_network(asgi_api: Api) -> None:
    """(Review of #18: any number of made-up tokens could each cost a write transaction.)"""
    api = asgi_api
    site = await api.new_site()
    reader = Reader(api, site)
    await reader.post("Mine")
    statuses = [(await reader.mark({"all": True})).status_code for _ in range(121)]
    assert statuses[:120] == [200] * 120 and statuses[120] == 429
    assert (await reader.delete(1)).status_code == 429


async def test_a_page_address_off_the_sites_origins_is_never_offered(asgi_api: Api) -> None:
    """(Review of #18: a notification led to an origin the site had since dropped.)"""
    api = asgi_api
    site_id = await api.new_site()
    asker = Reader(api, site_id)
    posted = await api.post(
        site_id,
        "article",
        "Asked on the old address",
        headers={"X-Forwarded-For": asker.ip},
        url=f"{ORIGIN}/article",
    )
    asker.token = posted["author_token"]
    await Reader(api, site_id).post("Answer", parent=posted["comment"]["id"], page="article")
    assert (await asker.notes())["notifications"][0]["page"]["url"] == f"{ORIGIN}/article"
    from dataclasses import replace

    from server.core.notifications import list_notifications

    site = await SiteDirectory(api.store).get(site_id)
    moved = replace(site, origins=("https://new.example",))
    listed = await list_notifications(command_services(api.store, SECRET), moved, asker.token, None)
    assert listed.notifications[0]["page"]["url"] is None
    assert listed.notifications[0]["page"]["key"] == "article"


async def test_a_rejected_reply_approved_after_all_is_news_and_takes_back_the_rejection(
    asgi_api: Api,
) -> None:
    """(Review of #18: approving a rejected reply told nobody, and its author kept
    'not approved'.)"""
    api = asgi_api
    site = await api.new_site(moderation="all")
    asker, answerer = Reader(api, site), Reader(api, site)
    question = await asker.post("Question")
    await decide(api, site, question["id"], Action.APPROVE)
    answer = await answerer.post("Answer", parent=question["id"])
    await decide(api, site, answer["id"], Action.REJECT)
    assert kinds(await answerer.notes()) == [("rejected", answer["id"])]
    await decide(api, site, answer["id"], Action.APPROVE)
    assert kinds(await answerer.notes()) == [("approved", answer["id"])]
    assert kinds(await asker.notes())[0] == ("reply", answer["id"])


async def test_a_read_reactions_summary_goes_when_the_last_reaction_is_taken_back(
    asgi_api: Api,
) -> None:
    """(Review of #18: it stayed as '0 people reacted to your comment'.)"""
    api = asgi_api
    site = await api.new_site()
    author, fan = Reader(api, site), Reader(api, site)
    comment = await author.post("React")
    await fan.react(comment["id"], "up")
    assert (await author.mark({"all": True})).status_code == 200
    await fan.react(comment["id"], None)
    assert (await author.notes())["notifications"] == []


async def test_a_reply_its_author_deleted_is_no_longer_news(asgi_api: Api) -> None:
    """(Review of #18: it stayed unread, as 'someone replied' with no text.)"""
    api = asgi_api
    site = await api.new_site()
    asker, answerer = Reader(api, site), Reader(api, site)
    question = await asker.post("Question")
    answer = await answerer.post("Second thoughts", parent=question["id"])
    assert (await asker.notes())["unread"] == 1
    r = await api.http.delete(
        f"/api/v1/sites/{site}/comments/{answer['id']}", headers=answerer.headers()
    )
    assert r.status_code in (200, 204), r.text
    listing = await asker.notes()
    assert listing["notifications"] == [] and listing["unread"] == 0


async def test_a_reply_erased_before_its_fan_out_tells_nobody(api: Api) -> None:
    """Posted and erased before the fan-out ran (through core, where no server's fan-out
    runs): those it answered never hear of it, and no mail is queued about it."""
    from server.core.erasure import erase_mine
    from server.core.fanout import fan_out

    site_id = await api.new_site()
    asker = Reader(api, site_id)
    question = await asker.post("Will anyone answer?")
    services = command_services(api.store, SECRET)
    site = await SiteDirectory(api.store).get(site_id)
    posted = await post_comment(
        services,
        site,
        Draft(page="p", body="Yes, then no", parent=question["id"]),
        token=None,
        client_ip="198.51.100.77",
    )
    assert posted.author_token is not None
    await erase_mine(services, site, posted.author_token)
    await fan_out(services)
    assert (await asker.notes())["notifications"] == []
