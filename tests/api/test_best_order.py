"""``order=best``: threads ranked by the lower bound of the Wilson interval of readers'
reactions, as of the first page's snapshot moment, on SQLite and PostgreSQL.

Reaction rows are written straight into the store here (keeping ``comments.reaction_counts``
in step, as the reaction API does): these tests are about ranking and paging, not about
how a reaction is accepted."""

from __future__ import annotations

import asyncio
import base64
import itertools
import math
import random
from typing import Any

import orjson
from sqlalchemy import func, insert, select, update

from server.core.context import command_services
from server.core.moderators import add_moderator
from server.core.passwords import hasher
from server.http.thread_cache import ThreadCache
from server.store.database import SqlStore
from server.store.schema import comments, reactions, sites
from tests.api.test_reactions import Reader
from tests.support.api import Api, Clock
from tests.support.config import SECRET
from tests.support.moderation import PASSWORD, Mod, client_for

Z = 1.96
_voters = itertools.count(1)


def reference_score(positive: int, total: int) -> float:
    """The Wilson lower bound, written out again independently of server/core/ranking.py."""
    if total == 0:
        return 0.0
    p = positive / total
    return (
        p + Z * Z / (2 * total) - Z * math.sqrt((p * (1 - p) + Z * Z / (4 * total)) / total)
    ) / (1 + Z * Z / total)


def forged_cursor(fields: list[object]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(fields)).decode().rstrip("=")


def now_ms(clock: Clock) -> int:
    return int(clock() * 1000)


async def react(
    store: SqlStore, comment_id: int, kind: str, at: int, choices: tuple[str, ...]
) -> int:
    """One reader's live reaction, made at ``at`` (ms); the comment's totals recounted."""
    async with store.write() as tx:
        row = (
            await tx.conn.execute(
                select(comments.c.site_id, comments.c.page_id).where(comments.c.id == comment_id)
            )
        ).one()
        reaction_id: int = (
            await tx.conn.execute(
                insert(reactions)
                .values(
                    site_id=row.site_id,
                    page_id=row.page_id,
                    comment_id=comment_id,
                    voter=f"voter-{next(_voters)}",
                    network=None,
                    kind=kind,
                    created_at=at,
                )
                .returning(reactions.c.id)
            )
        ).scalar_one()
        await _recount(tx.conn, comment_id, choices)
    return reaction_id


async def take_back(store: SqlStore, reaction_id: int, at: int, choices: tuple[str, ...]) -> None:
    async with store.write() as tx:
        comment_id = (
            await tx.conn.execute(
                update(reactions)
                .where(reactions.c.id == reaction_id)
                .values(removed_at=at)
                .returning(reactions.c.comment_id)
            )
        ).scalar_one()
        await _recount(tx.conn, comment_id, choices)


async def _recount(conn: Any, comment_id: int, choices: tuple[str, ...]) -> None:
    live = dict(
        (
            await conn.execute(
                select(reactions.c.kind, func.count())
                .where(reactions.c.comment_id == comment_id, reactions.c.removed_at.is_(None))
                .group_by(reactions.c.kind)
            )
        ).all()
    )
    totals = {k: live[k] for k in choices if live.get(k)}
    await conn.execute(
        update(comments)
        .where(comments.c.id == comment_id)
        .values(reaction_counts=orjson.dumps(totals).decode())
    )


async def set_reactions(store: SqlStore, site: str, kind: str, emoji: list[str]) -> None:
    """The site's reaction set, written before the site is first read (sites are cached)."""
    async with store.write() as tx:
        await tx.conn.execute(
            update(sites)
            .where(sites.c.id == site)
            .values(reactions=orjson.dumps({"kind": kind, "emoji": emoji}).decode())
        )


async def post_many(api: Api, site: str, n: int, page: str = "p") -> list[int]:
    return [(await api.post(site, page, f"comment {i}"))["comment"]["id"] for i in range(n)]


async def best_pages(api: Api, site: str, page: str = "p") -> list[list[int]]:
    """Every page of the listing under best, following cursors."""
    pages: list[list[int]] = []
    params: dict[str, str] = {"order": "best"}
    while True:
        data = await api.thread(site, page, **params)
        pages.append([c["id"] for c in data["comments"]])
        if not data["has_more"]:
            return pages
        params["cursor"] = data["cursor"]


def newest_first_ties(ids: list[int], score: dict[int, float]) -> list[int]:
    # Posted in id order, one after another: newer is the higher id.
    return sorted(ids, key=lambda i: (-score[i], -i))


async def test_best_matches_a_reference_ranking_of_known_up_and_down_counts(
    asgi_api: Api, time_travel: Clock
) -> None:
    api = asgi_api
    site = await api.new_site()
    counts = [(0, 0), (1, 0), (10, 2), (40, 10), (5, 5), (100, 60), (2, 0), (0, 3), (1, 0)]
    ids = await post_many(api, site, len(counts))
    made = now_ms(time_travel)
    for comment_id, (up, down) in zip(ids, counts, strict=True):
        for _ in range(up):
            await react(api.store, comment_id, "up", made, ("up", "down"))
        for _ in range(down):
            await react(api.store, comment_id, "down", made, ("up", "down"))
    time_travel.offset += 5  # the reactions are now older than the listing's settle margin
    score = {i: reference_score(u, u + d) for i, (u, d) in zip(ids, counts, strict=True)}
    expected = newest_first_ties(ids, score)
    # The reference, spelled out: 40/10 beats 10/2 beats 100/60; the two 1/0 tie, newer first;
    # 0/3 and 0/0 both score 0, newer first.
    assert [counts[ids.index(i)] for i in expected] == [
        (40, 10),
        (10, 2),
        (100, 60),
        (2, 0),
        (5, 5),
        (1, 0),
        (1, 0),
        (0, 3),
        (0, 0),
    ]
    assert expected.index(ids[8]) < expected.index(ids[1])  # the tie: newer first
    data = await api.thread(site, order="best")
    assert [c["id"] for c in data["comments"]] == expected
    assert data["comments"][0]["reactions"] == {"up": 40, "down": 10}
    assert data["has_more"] is False and data["cursor"] is None


async def test_best_on_an_emoji_site_ranks_by_how_many_reactions(
    asgi_api: Api, time_travel: Clock
) -> None:
    api = asgi_api
    site = await api.new_site()
    offered = ("👍", "❤️", "😂")
    await set_reactions(api.store, site, "emoji", list(offered))
    # Per comment: reactions by emoji; "🙃" is no longer offered and does not count.
    given = [
        {"👍": 1},
        {"❤️": 3, "😂": 1},
        {},
        {"👍": 2, "🙃": 9},
        {"😂": 2},
        {"👍": 5, "❤️": 5},
    ]
    ids = await post_many(api, site, len(given))
    made = now_ms(time_travel)
    for comment_id, kinds in zip(ids, given, strict=True):
        for kind, n in kinds.items():
            for _ in range(n):
                await react(api.store, comment_id, kind, made, offered)
    time_travel.offset += 5
    totals = {
        i: sum(n for k, n in g.items() if k in offered) for i, g in zip(ids, given, strict=True)
    }
    score = {i: reference_score(n, n) for i, n in totals.items()}
    # Every reaction positive: the score is n / (n + z²), more reactions rank higher.
    assert all(math.isclose(score[i], n / (n + Z * Z)) for i, n in totals.items() if n)
    expected = newest_first_ties(ids, score)
    assert [totals[i] for i in expected] == [10, 4, 2, 2, 1, 0]
    data = await api.thread(site, order="best")
    assert [c["id"] for c in data["comments"]] == expected


async def test_paging_under_best_is_exact_while_reactions_keep_arriving(
    asgi_api: Api, time_travel: Clock
) -> None:
    """60 comments, three pages; between pages readers react, change and take reactions
    back, enough to reorder the live ranking. Each comment is listed exactly once, in the
    ranking as it stood when the first page was loaded."""
    api = asgi_api
    site = await api.new_site()
    choices = ("up", "down")
    ids = await post_many(api, site, 60)
    rng = random.Random(17)
    live: dict[int, list[tuple[int, str]]] = {i: [] for i in ids}
    made = now_ms(time_travel)
    for comment_id in ids:
        for _ in range(rng.randrange(0, 8)):
            kind = rng.choice(choices)
            live[comment_id].append((await react(api.store, comment_id, kind, made, choices), kind))
    time_travel.offset += 5

    def ranking() -> list[int]:
        score = {}
        for i, rows in live.items():
            up = sum(1 for _, k in rows if k == "up")
            score[i] = reference_score(up, len(rows))
        return newest_first_ties(ids, score)

    at_first_load = ranking()
    first = await api.thread(site, order="best")
    pages = [[c["id"] for c in first["comments"]]]
    cursor = first["cursor"]
    while cursor:
        # Between pages: the comments the reader has not reached yet gain up votes in bulk,
        # the ones already shown lose theirs, so the live ranking turns upside down.
        time_travel.offset += 1
        moment = now_ms(time_travel)
        shown = {i for page in pages for i in page}
        for comment_id in ids:
            if comment_id in shown:
                for reaction_id, _kind in live[comment_id]:
                    await take_back(api.store, reaction_id, moment, choices)
                live[comment_id] = []
            elif rng.random() < 0.5:
                for _ in range(3):
                    rid = await react(api.store, comment_id, "up", moment, choices)
                    live[comment_id].append((rid, "up"))
        data = await api.thread(site, order="best", cursor=cursor)
        pages.append([c["id"] for c in data["comments"]])
        cursor = data["cursor"]
    assert [len(p) for p in pages] == [20, 20, 20]
    listed = [i for page in pages for i in page]
    assert sorted(listed) == sorted(ids)  # each exactly once
    assert listed == at_first_load
    assert ranking() != at_first_load  # the live ranking did move underneath


async def test_new_comments_while_paging_rank_by_their_score_at_the_snapshot(
    asgi_api: Api, time_travel: Clock
) -> None:
    api = asgi_api
    site = await api.new_site()
    ids = await post_many(api, site, 25)
    time_travel.offset += 5
    first = await api.thread(site, order="best")
    late = await post_many(api, site, 2)  # newest, score 0: first among the ties at 0
    second = await api.thread(site, order="best", cursor=first["cursor"])
    listed = [c["id"] for c in first["comments"] + second["comments"]]
    assert sorted(listed) == sorted(ids)  # ranked before the cursor: live events bring them
    assert not set(late) & set(listed)


async def test_best_cursor_expires_after_20_hours_and_bad_input_is_refused(
    asgi_api: Api, time_travel: Clock
) -> None:
    api = asgi_api
    site = await api.new_site()
    await post_many(api, site, 21)
    first = await api.thread(site, order="best")
    url = f"/api/v1/sites/{site}/thread"
    time_travel.offset += 19 * 3600
    still = await api.http.get(
        url, params={"page": "p", "order": "best", "cursor": first["cursor"]}
    )
    assert still.status_code == 200, still.text
    time_travel.offset += 2 * 3600
    late = await api.http.get(url, params={"page": "p", "order": "best", "cursor": first["cursor"]})
    assert late.status_code == 422
    assert late.json()["error"]["code"] == "cursor_expired"
    newest = await api.thread(site)
    for params, code in [
        ({"order": "sideways"}, "invalid_order"),
        ({"order": "best", "cursor": newest["cursor"]}, "invalid_cursor"),
        ({"order": "newest", "cursor": first["cursor"]}, "invalid_cursor"),
        ({"order": "best", "cursor": forged_cursor([2, "best", 1, 1, 1, 2.0])}, "invalid_cursor"),
        (
            {"order": "best", "cursor": forged_cursor([2, "best", 1, 1, None, 0.5])},
            "invalid_cursor",
        ),
    ]:
        r = await api.http.get(url, params={"page": "p", **params})
        assert r.status_code == 422, params
        assert r.json()["error"]["code"] == code
    assert (
        "best"
        in (await api.http.get(url, params={"page": "p", "order": "x"})).json()["error"]["message"]
    )


async def test_a_change_forgets_the_cached_first_page_of_every_order() -> None:
    cache = ThreadCache()

    async def listing() -> tuple[bytes, bool]:
        return b"{}", True

    for order in ("newest", "oldest", "best"):
        await cache.fetch("blog", "p", order, listing)
        assert cache.get("blog", "p", order) == b"{}"
    cache.forget("blog", "p")
    assert [cache.get("blog", "p", o) for o in ("newest", "oldest", "best")] == [None] * 3


async def test_a_pin_reaches_the_cached_best_listing_at_once(asgi_api: Api) -> None:
    api = asgi_api
    site = await api.new_site()
    ids = await post_many(api, site, 3)
    cached = await api.thread(site, order="best")  # now this process's cached first page
    assert [c["pinned"] for c in cached["comments"]] == [False] * 3
    email = f"best-{site}@example.com"
    await add_moderator(
        command_services(api.store, SECRET), hasher("test"), email, site, password=PASSWORD
    )
    async with client_for(api) as http:
        mod = Mod(http, email)
        assert (await mod.login()).status_code == 303
        r = await mod.act(ids[0], "pin", expected=None)
        assert r.status_code == 200, r.text
    listed = (await api.thread(site, order="best"))["comments"]
    assert [(c["id"], c["pinned"]) for c in listed] == [
        (ids[0], True),
        (ids[2], False),
        (ids[1], False),
    ]


async def test_a_reaction_that_waited_for_its_comment_is_never_skipped_by_best_paging(
    asgi_api: Api,
) -> None:
    """A reaction queued behind another writer for longer than the snapshot's 2 s margin is
    stamped when it gets the comment, not when it began waiting: a later page never finds
    it in history its first page could not see (hostile review; the reacted comment was
    skipped before)."""
    api = asgi_api
    site = await api.new_site()
    ids = [
        (await api.post(site, body=f"c{i}", headers={"X-Forwarded-For": f"100.70.{i}.9"}))[
            "comment"
        ]["id"]
        for i in range(25)
    ]
    oldest = ids[0]  # no reactions: ties newest first, so the last of page 2
    holding = asyncio.Event()

    async def another_writer() -> None:
        async with api.store.write() as tx:  # SQLite: the write lock; PostgreSQL: the row
            await tx.find_comment(oldest, for_update=True)
            holding.set()
            await asyncio.sleep(3.2)

    writer = asyncio.create_task(another_writer())
    await holding.wait()
    reacting = asyncio.create_task(
        api.http.put(
            f"/api/v1/sites/{site}/comments/{oldest}/reaction",
            json={"reaction": "up"},
            headers={"X-Forwarded-For": "100.71.1.9"},
        )
    )
    await asyncio.sleep(2.6)  # the reaction waits; the first page ranks as of 0.6 s in
    first = await api.thread(site, order="best")
    assert (await reacting).status_code == 200
    await writer
    second = await api.thread(site, order="best", cursor=first["cursor"])
    seen = [c["id"] for c in first["comments"] + second["comments"]]
    assert sorted(seen) == sorted(ids)


async def test_paging_under_best_is_exact_while_readers_react_through_the_api(
    asgi_api: Api, time_travel: Clock
) -> None:
    """The same through the reaction API itself: 60 comments, and between pages readers
    give, switch and take back reactions with PUT and DELETE, turning the live ranking
    upside down. Each comment is listed exactly once, in the first load's ranking."""
    api = asgi_api
    site = await api.new_site()
    ids = await post_many(api, site, 60)
    rng = random.Random(23)
    voters: dict[int, list[tuple[Reader, str]]] = {i: [] for i in ids}
    for comment_id in ids:
        for _ in range(rng.randrange(0, 6)):
            reader, kind = Reader(api, site), rng.choice(("up", "down"))
            await reader.react(comment_id, kind)
            voters[comment_id].append((reader, kind))

    def ranking() -> list[int]:
        score = {
            i: reference_score(sum(1 for _, k in rows if k == "up"), len(rows))
            for i, rows in voters.items()
        }
        return newest_first_ties(ids, score)

    at_first_load = ranking()
    time_travel.offset += 5  # past the snapshot's settling margin
    first = await api.thread(site, order="best")
    pages = [[c["id"] for c in first["comments"]]]
    cursor = first["cursor"]
    while cursor:
        shown = {i for page in pages for i in page}
        for comment_id in ids:
            if comment_id in shown:  # those already shown lose their ups, or take them back
                for n, (reader, kind) in enumerate(voters[comment_id]):
                    if kind == "up" and n % 2:
                        await reader.react(comment_id, "down")
                        voters[comment_id][n] = (reader, "down")
                    elif kind == "up":
                        assert (await reader.take_back(comment_id)).status_code == 200
                voters[comment_id] = [
                    (r, k) for n, (r, k) in enumerate(voters[comment_id]) if k == "down" or n % 2
                ]
            elif rng.random() < 0.5:  # those still to come gain
                for _ in range(3):
                    reader = Reader(api, site)
                    await reader.react(comment_id, "up")
                    voters[comment_id].append((reader, "up"))
        data = await api.thread(site, order="best", cursor=cursor)
        pages.append([c["id"] for c in data["comments"]])
        cursor = data["cursor"]
    listed = [i for page in pages for i in page]
    assert sorted(listed) == sorted(ids)  # each exactly once
    assert listed == at_first_load
    assert ranking() != at_first_load  # the live ranking did move underneath
    # And the counts shown now are the live ones.
    now = await api.thread(site, order="newest")
    for comment in now["comments"]:
        rows = voters[comment["id"]]
        expected = {k: n for k in ("up", "down") if (n := sum(1 for _, kind in rows if kind == k))}
        assert comment["reactions"] == expected
