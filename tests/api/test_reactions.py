"""Reactions over the API, on SQLite and PostgreSQL: once per reader, one per network for
anonymous readers, never on one's own comment, rate-limited, exact under concurrency, and
gone with the reader's erasure."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from server.core.context import command_services
from server.core.erasure import export_site, forget_old_data
from server.core.errors import Invalid
from server.core.import_write import import_batch, site_from_export
from server.core.imports import PageKey
from server.core.models import ReactionKind, ReactionSet
from server.core.site_admin import parse_reactions, reaction_set
from server.core.sites import SiteDirectory, update_site
from server.core.transactions.reactions import NewReaction
from server.imports.native import read_export
from server.store.schema import comments, reactions
from tests.support.api import ORIGIN, Api, Clock
from tests.support.config import SECRET
from tests.support.sso import claims, enable_sso, hs256_key

networks = itertools.count(1)


def new_network() -> str:
    """An address on a /24 no other reader in these tests uses."""
    n = next(networks)
    return f"100.{64 + n // 250 % 60}.{n % 250}.{7 + n // 15000}"


class Reader:
    """One reader on one network, keeping the token the server hands out."""

    def __init__(self, api: Api, site: str, *, ip: str | None = None, token: str | None = None):
        self.api, self.site = api, site
        self.ip = ip or new_network()
        self.token = token

    def headers(self) -> dict[str, str]:
        out = {"X-Forwarded-For": self.ip}
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        return out

    async def put(self, comment: int, reaction: object) -> httpx.Response:
        r = await self.api.http.put(
            f"/api/v1/sites/{self.site}/comments/{comment}/reaction",
            json={"reaction": reaction},
            headers=self.headers(),
        )
        if r.status_code == 200 and "token" in r.json():
            self.token = r.json()["token"]
        return r

    async def react(self, comment: int, reaction: object) -> dict[str, Any]:
        r = await self.put(comment, reaction)
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data

    async def take_back(self, comment: int) -> httpx.Response:
        return await self.api.http.delete(
            f"/api/v1/sites/{self.site}/comments/{comment}/reaction", headers=self.headers()
        )

    async def mine(self, page: str = "p") -> httpx.Response:
        return await self.api.http.get(
            f"/api/v1/sites/{self.site}/reactions/mine",
            params={"page": page},
            headers=self.headers(),
        )


def code(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


async def reaction_site(api: Api, kind: str = "updown", emoji: str = "", **site: Any) -> str:
    """A new site offering ``kind`` (set before any request reads the site)."""
    site_id = await api.new_site(**site)
    if kind != "updown":
        services = command_services(api.store, SECRET)
        await update_site(services, site_id, reactions=reaction_set(kind, emoji))
    return site_id


async def comment_on(api: Api, site: str, page: str = "p", body: str = "A comment") -> int:
    posted = await api.post(site, page, body, headers={"X-Forwarded-For": new_network()})
    comment_id: int = posted["comment"]["id"]
    return comment_id


async def stored(api: Api, comment_id: int) -> tuple[dict[str, int], dict[str, int]]:
    """The comment's stored totals, and a count of its live rows by kind."""
    async with api.store.read() as tx:
        comment = await tx.find_comment(comment_id)
        rows = await tx.conn.execute(
            select(reactions.c.kind, func.count())
            .where(reactions.c.comment_id == comment_id, reactions.c.removed_at.is_(None))
            .group_by(reactions.c.kind)
        )
        live = {str(kind): int(n) for kind, n in rows}
    assert comment is not None
    return dict(comment.reaction_counts), live


async def test_once_per_reader_switching_and_taking_back(api: Api) -> None:
    site = await reaction_site(api)
    target = await comment_on(api, site)
    listed = await api.thread(site)
    assert listed["config"]["reactions"] == ["up", "down"]
    assert listed["comments"][0]["reactions"] == {}

    reader = Reader(api, site)
    first = await reader.react(target, "up")
    assert first["reaction"] == "up" and first["reactions"] == {"up": 1}
    assert isinstance(first["token"], str)  # no Bearer: the server issued one
    again = await reader.react(target, "up")
    assert again == {"reaction": "up", "reactions": {"up": 1}}  # no change, no new token
    other = Reader(api, site)
    assert (await other.react(target, "down"))["reactions"] == {"up": 1, "down": 1}
    switched = await reader.react(target, "down")
    assert switched == {"reaction": "down", "reactions": {"down": 2}}
    taken = await reader.take_back(target)
    assert taken.status_code == 200
    assert taken.json() == {"reaction": None, "reactions": {"down": 1}}
    nothing = await reader.take_back(target)  # nothing to take back: no error
    assert nothing.json() == {"reaction": None, "reactions": {"down": 1}}
    assert (await reader.react(target, "up"))["reactions"] == {"up": 1, "down": 1}

    assert (await api.thread(site))["comments"][0]["reactions"] == {"up": 1, "down": 1}
    assert await stored(api, target) == ({"up": 1, "down": 1}, {"up": 1, "down": 1})
    # The history is kept (a day) for paging under order=best: two rows were replaced.
    async with api.store.read() as tx:
        removed = (
            await tx.conn.execute(
                select(func.count())
                .select_from(reactions)
                .where(reactions.c.comment_id == target, reactions.c.removed_at.is_not(None))
            )
        ).scalar_one()
    assert removed == 2


async def test_own_comment_is_refused(api: Api) -> None:
    site = await reaction_site(api)
    posted = await api.post(site, body="mine", headers={"X-Forwarded-For": new_network()})
    author = Reader(api, site, token=posted["author_token"])
    r = await author.put(posted["comment"]["id"], "up")
    assert code(r) == (403, "own_comment")
    assert await stored(api, posted["comment"]["id"]) == ({}, {})


async def test_leaving_the_token_out_does_not_make_the_author_someone_else(api: Api) -> None:
    """Without a token the server issues a new one: the author, on the network they wrote
    from, is still refused (hostile review; this answered 200 before)."""
    site = await reaction_site(api)
    network = new_network()
    posted = await api.post(site, body="mine", headers={"X-Forwarded-For": network})
    fresh = Reader(api, site, ip=network)
    assert code(await fresh.put(posted["comment"]["id"], "up")) == (403, "own_comment")
    assert await stored(api, posted["comment"]["id"]) == ({}, {})
    # Another network may react, of course.
    await Reader(api, site).react(posted["comment"]["id"], "up")


async def test_one_live_reaction_per_network_for_anonymous_readers_only(api: Api) -> None:
    site = await reaction_site(api)
    key = hs256_key()
    await enable_sso(api.store, site, key)
    target = await comment_on(api, site)
    shared = new_network()
    first, neighbour = Reader(api, site, ip=shared), Reader(api, site, ip=shared)
    await first.react(target, "up")
    refused = await neighbour.put(target, "down")
    assert code(refused) == (409, "network_already_reacted")
    # The first reader may still change their own mind on that network.
    assert (await first.react(target, "down"))["reactions"] == {"down": 1}
    assert (await first.take_back(target)).status_code == 200
    assert (await neighbour.react(target, "up"))["reactions"] == {"up": 1}

    # Signed-in readers on that same network each count, once per identity.
    sessions = []
    for sub in ("alice", "bob"):
        r = await api.http.post(
            f"/api/v1/sites/{site}/sso/session",
            json={"token": key.sign(claims(site, sub=sub, name=sub.title()))},
        )
        assert r.status_code == 200, r.text
        sessions.append(r.json()["session"])
    alice, bob = (Reader(api, site, ip=shared, token=s) for s in sessions)
    assert (await alice.react(target, "up"))["reactions"] == {"up": 2}
    assert "token" not in await bob.react(target, "up")
    again = await api.http.post(
        f"/api/v1/sites/{site}/sso/session",
        json={"token": key.sign(claims(site, sub="alice", name="Alice"))},
    )
    alice_elsewhere = Reader(api, site, token=again.json()["session"])  # another device
    assert (await alice_elsewhere.react(target, "down"))["reactions"] == {"up": 2, "down": 1}
    assert await stored(api, target) == ({"up": 2, "down": 1}, {"up": 2, "down": 1})
    # A signed-in reader's own comment is theirs by identity.
    own = await api.post(site, body="by Bob", token=sessions[1])
    assert code(await bob.put(own["comment"]["id"], "up")) == (403, "own_comment")


async def test_a_site_for_signed_in_readers_only_takes_their_reactions_only(api: Api) -> None:
    site = await reaction_site(api)
    key = hs256_key()
    await enable_sso(api.store, site, key, policy="sso-only")
    target = await comment_on_as_moderator(api, site)
    anonymous = Reader(api, site)
    assert code(await anonymous.put(target, "up")) == (403, "sso_required")
    signed = await api.http.post(
        f"/api/v1/sites/{site}/sso/session", json={"token": key.sign(claims(site, sub="ann"))}
    )
    reader = Reader(api, site, token=signed.json()["session"])
    assert (await reader.react(target, "up"))["reactions"] == {"up": 1}


async def comment_on_as_moderator(api: Api, site: str) -> int:
    """A comment on a site anonymous readers cannot write on (as a moderator's reply is)."""
    from server.core.comments import Draft, post_comment

    services = command_services(api.store, SECRET)
    found = await SiteDirectory(api.store).get(site)
    posted = await post_comment(
        services,
        found,
        Draft(page="p", body="from the site"),
        token=None,
        client_ip="192.0.2.1",
        moderator=True,
        name_override="Mod",
    )
    return posted.comment.id


async def test_reactions_and_take_backs_are_rate_limited(asgi_api: Api) -> None:
    site = await reaction_site(asgi_api)
    targets = [await comment_on(asgi_api, site, body=f"comment {i}") for i in range(2)]
    reader = Reader(asgi_api, site)
    await reader.react(targets[0], "up")  # issues the reader's token
    answers = []
    for i in range(30):  # one reader: 30 reactions and take-backs a minute
        r = await (reader.take_back(targets[0]) if i % 2 == 0 else reader.put(targets[0], "up"))
        answers.append(r.status_code)
    assert answers == [200] * 30
    limited = await reader.put(targets[1], "up")
    assert code(limited) == (429, "rate_limited")
    assert int(limited.headers["Retry-After"]) >= 1
    # One network's readers together: 120 a minute (refused ones count too).
    crowd = new_network()
    answered = Counter(
        [
            (await Reader(asgi_api, site, ip=crowd).put(targets[1], "up")).status_code
            for _ in range(121)
        ]
    )
    assert answered == {200: 1, 409: 119, 429: 1}


async def test_held_missing_and_other_sites_comments_answer_404(api: Api) -> None:
    site = await reaction_site(api, moderation="all")
    held = (await api.post(site, body="waiting", headers={"X-Forwarded-For": new_network()}))[
        "comment"
    ]["id"]
    elsewhere = await reaction_site(api)
    theirs = await comment_on(api, elsewhere)
    reader = Reader(api, site)
    answers = [await reader.put(cid, "up") for cid in (held, 999_999_999, theirs)]
    assert [code(r) for r in answers] == [(404, "comment_not_found")] * 3
    assert answers[0].json() == answers[1].json()  # held answers exactly like missing
    reader.token = (await Reader(api, elsewhere).react(theirs, "up"))["token"]
    assert code(await reader.take_back(held)) == (404, "comment_not_found")


async def test_invalid_reactions_and_sites_without_reactions(api: Api) -> None:
    site = await reaction_site(api)
    target = await comment_on(api, site)
    reader = Reader(api, site)
    for bad in ("sideways", "UP", "", 1, None, ["up"], "👍"):
        assert code(await reader.put(target, bad)) == (400, "invalid_reaction"), bad
    unknown = await api.http.put(
        f"/api/v1/sites/{site}/comments/{target}/reaction",
        json={"reaction": "up", "extra": 1},
        headers=reader.headers(),
    )
    assert code(unknown) == (422, "unknown_field")

    upvote = await reaction_site(api, "upvote")
    up_only = await comment_on(api, upvote)
    assert (await api.thread(upvote))["config"]["reactions"] == ["up"]
    assert code(await Reader(api, upvote).put(up_only, "down")) == (400, "invalid_reaction")
    assert (await Reader(api, upvote).react(up_only, "up"))["reactions"] == {"up": 1}

    emoji = await reaction_site(api, "emoji", "👍 ❤️ 😂")
    funny = await comment_on(api, emoji)
    assert (await api.thread(emoji))["config"]["reactions"] == ["👍", "❤️", "😂"]
    laughing = Reader(api, emoji)
    assert (await laughing.react(funny, "😂"))["reactions"] == {"😂": 1}
    assert (await Reader(api, emoji).react(funny, "👍"))["reactions"] == {"👍": 1, "😂": 1}
    assert code(await laughing.put(funny, "up")) == (400, "invalid_reaction")

    off = await reaction_site(api, "off")
    quiet = await comment_on(api, off)
    assert (await api.thread(off))["config"]["reactions"] == []
    silent = Reader(api, off, token=laughing.token)
    assert code(await silent.put(quiet, "up")) == (403, "reactions_off")
    assert code(await silent.take_back(quiet)) == (403, "reactions_off")


async def test_tokens_not_issued_here_are_refused(api: Api) -> None:
    site = await reaction_site(api)
    target = await comment_on(api, site)
    forged = Reader(api, site, token="A" * 43)
    assert code(await forged.put(target, "up")) == (401, "invalid_token")
    malformed = Reader(api, site, token="not-a-token")
    assert code(await malformed.put(target, "up")) == (401, "invalid_token")
    assert code(await Reader(api, site).take_back(target)) == (401, "invalid_token")
    assert await stored(api, target) == ({}, {})


async def test_counts_are_exact_under_200_concurrent_readers(api: Api) -> None:
    site = await reaction_site(api)
    target = await comment_on(api, site)
    readers = [Reader(api, site) for _ in range(200)]
    wanted = ["down" if i % 3 == 0 else "up" for i in range(200)]
    answers = await asyncio.gather(
        *(r.put(target, w) for r, w in zip(readers, wanted, strict=True))
    )
    assert [a.status_code for a in answers] == [200] * 200, [a.text for a in answers[:3]]
    expected = dict(Counter(wanted))
    assert await stored(api, target) == ({"up": expected["up"], "down": expected["down"]},) * 2
    # Each answer's totals were exact when it committed: the largest saw everyone.
    assert max(sum(a.json()["reactions"].values()) for a in answers) == 200

    # A second wave at once: half switch, a quarter take back, and every other reader sends
    # the very same request twice (a double click): still one row each, never a 5xx.
    async def second(i: int, reader: Reader) -> list[httpx.Response]:
        if i % 4 == 0:
            return [await reader.take_back(target)]
        if i % 2:
            flipped = "up" if wanted[i] == "down" else "down"
            wanted[i] = flipped
            return list(
                await asyncio.gather(reader.put(target, flipped), reader.put(target, flipped))
            )
        return [await reader.put(target, wanted[i])]

    waves = await asyncio.gather(*(second(i, r) for i, r in enumerate(readers)))
    assert all(r.status_code == 200 for wave in waves for r in wave), [
        r.text for wave in waves for r in wave if r.status_code != 200
    ][:3]
    for i, wave in enumerate(waves):
        if i % 2 and i % 4:
            assert wave[0].json()["reaction"] == wave[1].json()["reaction"] == wanted[i]
    live = Counter(w for i, w in enumerate(wanted) if i % 4)
    assert await stored(api, target) == ({"up": live["up"], "down": live["down"]},) * 2
    assert (await api.thread(site))["comments"][0]["reactions"] == {
        "up": live["up"],
        "down": live["down"],
    }


async def test_a_reader_lists_their_own_reactions_on_a_page(api: Api) -> None:
    site = await reaction_site(api)
    here = [await comment_on(api, site, "p", f"here {i}") for i in range(3)]
    there = await comment_on(api, site, "q", "elsewhere")
    reader = Reader(api, site)
    await reader.react(here[0], "up")
    await reader.react(here[2], "down")
    await reader.react(there, "up")
    await reader.react(here[1], "up")
    assert (await reader.take_back(here[1])).status_code == 200
    mine = await reader.mine("p")
    assert mine.status_code == 200
    assert mine.json() == {"mine": {str(here[2]): "down", str(here[0]): "up"}}
    assert list(mine.json()["mine"]) == [str(here[2]), str(here[0])]  # newest first
    assert mine.headers["Cache-Control"] == "no-store"
    assert (await reader.mine("q")).json() == {"mine": {str(there): "up"}}
    assert (await reader.mine("no-such-page")).json() == {"mine": {}}
    assert (await Reader(api, site, token="B" * 43).mine("p")).json() == {"mine": {}}
    assert code(await Reader(api, site).mine("p")) == (401, "invalid_token")


async def test_an_erased_reader_takes_their_reactions_along(api: Api) -> None:
    site = await reaction_site(api)
    targets = [await comment_on(api, site, body=f"comment {i}") for i in range(2)]
    leaving, staying = Reader(api, site), Reader(api, site)
    for target in targets:
        await leaving.react(target, "up")
        await staying.react(target, "down")
    await leaving.react(targets[0], "down")  # a replaced row too
    erased = await api.http.delete(f"/api/v1/sites/{site}/authors/me", headers=leaving.headers())
    assert erased.status_code == 200
    for target in targets:
        assert await stored(api, target) == ({"down": 1}, {"down": 1})
    async with api.store.read() as tx:
        rows = (
            await tx.conn.execute(
                select(func.count()).select_from(reactions).where(reactions.c.site_id == site)
            )
        ).scalar_one()
    assert rows == 2  # only the staying reader's
    assert (await leaving.mine()).json() == {"mine": {}}


async def test_history_is_pruned_after_a_day_and_networks_after_30_days(
    asgi_api: Api, time_travel: Clock, asgi_app: Any
) -> None:
    site = await reaction_site(asgi_api)
    target = await comment_on(asgi_api, site)
    reader = Reader(asgi_api, site)
    await reader.react(target, "up")
    await reader.react(target, "down")  # the "up" row is history now
    services = asgi_app.state.tl.services

    async def rows() -> list[tuple[str, bool, bool]]:
        async with asgi_api.store.read() as tx:
            found = await tx.conn.execute(
                select(reactions.c.kind, reactions.c.removed_at, reactions.c.network)
                .where(reactions.c.comment_id == target)
                .order_by(reactions.c.id)
            )
            return [(k, removed is not None, network is not None) for k, removed, network in found]

    await forget_old_data(services)
    assert await rows() == [("up", True, True), ("down", False, True)]
    time_travel.offset = 86400 + 60
    await forget_old_data(services)
    assert await rows() == [("down", False, True)]
    time_travel.offset = 31 * 86400
    await forget_old_data(services)
    assert await rows() == [("down", False, False)]
    assert await stored(asgi_api, target) == ({"down": 1}, {"down": 1})


def test_a_sites_reaction_set_is_checked() -> None:
    assert parse_reactions("updown") == ReactionSet()
    assert parse_reactions("upvote").choices == ("up",)
    assert parse_reactions("off").choices == ()
    chosen = parse_reactions("emoji:👍,❤️,😂")
    assert chosen == ReactionSet(ReactionKind.EMOJI, ("👍", "❤️", "😂"))
    assert parse_reactions("emoji:👍🏽 👨‍👩‍👧 🇫🇷").emoji == ("👍🏽", "👨‍👩‍👧", "🇫🇷")
    for bad in (
        "sideways",
        "emoji",
        "emoji:",
        "emoji:👍,👍",
        "emoji:a",
        "emoji:👍👍",
        "emoji:" + ",".join("😀😁😂🤣😃😄😅"),
        "updown:👍",
    ):
        with pytest.raises(Invalid) as refused:
            parse_reactions(bad)
        assert refused.value.code == "invalid_reactions", bad


async def test_export_and_import_carry_the_totals(api: Api, tmp_path: Path) -> None:
    site = await reaction_site(api, "emoji", "👍 🎉")
    target = await comment_on(api, site)
    for reaction in ("👍", "👍", "🎉"):
        await Reader(api, site).react(target, reaction)
    services = command_services(api.store, SECRET)
    exported = await export_site(services, await SiteDirectory(api.store).get(site))
    assert exported["site"]["reactions"] == {"kind": "emoji", "emoji": ["👍", "🎉"]}
    [listed] = exported["comments"]
    assert listed["reactions"] == {"👍": 2, "🎉": 1}
    import orjson

    path = tmp_path / "export.json"
    path.write_bytes(orjson.dumps(exported))
    batch = read_export(path)
    copy_id = f"{site}-copy"
    copy = site_from_export(copy_id, batch.site or {}, services.now_ms())
    assert copy.reactions == ReactionSet(ReactionKind.EMOJI, ("👍", "🎉"))
    await import_batch(
        api.store,
        copy,
        batch,
        keys=PageKey.ID,
        base_url=None,
        now=services.now_ms(),
        create_site=True,
    )
    [restored] = (await api.thread(copy_id))["comments"]
    assert restored["reactions"] == {"👍": 2, "🎉": 1}
    # Readers react on top of the restored totals.
    assert (await Reader(api, copy_id).react(restored["id"], "🎉"))["reactions"] == {
        "👍": 2,
        "🎉": 2,
    }
    async with api.store.read() as tx:
        total = (
            await tx.conn.execute(
                select(comments.c.reaction_counts).where(comments.c.id == restored["id"])
            )
        ).scalar_one()
    assert total == '{"👍":2,"🎉":2}'


async def test_a_browser_on_the_sites_origin_may_put_a_reaction(api: Api) -> None:
    site = await reaction_site(api)
    target = await comment_on(api, site)
    url = f"/api/v1/sites/{site}/comments/{target}/reaction"
    preflight = await api.http.options(
        url,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type, authorization",
        },
    )
    assert preflight.status_code == 204
    assert "PUT" in preflight.headers["access-control-allow-methods"]
    r = await api.http.put(
        url, json={"reaction": "up"}, headers={"Origin": ORIGIN, "X-Forwarded-For": new_network()}
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ORIGIN
    elsewhere = await api.http.put(
        url, json={"reaction": "up"}, headers={"Origin": "https://evil.test"}
    )
    assert code(elsewhere) == (403, "origin_not_allowed")


async def test_a_duplicate_live_row_is_no_row_and_no_error(asgi_api: Api) -> None:
    """What a concurrent identical request would meet, were the comment's lock not there:
    either partial unique index turns the second insert into nothing (core reads again)."""
    site = await reaction_site(asgi_api)
    target = await comment_on(asgi_api, site)
    async with asgi_api.store.read() as tx:
        comment = await tx.find_comment(target)
    assert comment is not None

    def row(voter: str, network: str | None, kind: str = "up") -> NewReaction:
        return NewReaction(site, comment.page_id, target, voter, network, kind, 1)

    async with asgi_api.store.write() as tx:
        assert await tx.add_reaction(row("a" * 64, "n" * 32)) is True
        assert await tx.add_reaction(row("a" * 64, None, "down")) is False  # same voter
        assert await tx.add_reaction(row("b" * 64, "n" * 32)) is False  # same network
        assert await tx.add_reaction(row("c" * 64, None)) is True  # signed in: no network
        assert await tx.add_reaction(row("d" * 64, None)) is True
        assert await tx.recount_reactions(target, ("up", "down")) == (("up", 3),)
        assert await tx.remove_reaction(target, "a" * 64, 2) == "up"
        assert await tx.add_reaction(row("b" * 64, "n" * 32, "down")) is True
        assert await tx.recount_reactions(target, ("up", "down")) == (("up", 2), ("down", 1))
