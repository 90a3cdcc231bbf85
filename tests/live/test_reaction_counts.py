"""Reaction totals reach readers on both processes (PostgreSQL, real Redis) coalesced: a
burst of 1,000 reactions is a handful of frames per reader, never one per reaction, each
of absolute totals without a seq, and the last totals every reader has are the database's."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import pytest

from server.live.frames import Frame
from server.live.reaction_counts import EVERY, ReactionCounts
from server.live.room import Room
from tests.support.api import Api
from tests.support.live import Pair
from tests.support.ws import Reader

pytestmark = pytest.mark.slow

READERS = 200  # distinct readers, each on a network of its own
COMMENTS = 5  # each reader reacts to every comment: 1,000 reactions
IN_FLIGHT = 40


def totals_seen(reader: Reader) -> dict[str, dict[str, int]]:
    """Each comment's totals as the reader's latest frame naming it gave them."""
    seen: dict[str, dict[str, int]] = {}
    for frame in reader.frames:
        if frame["type"] == "reactions":
            seen.update(frame["data"]["comments"])
    return seen


def reactions_frames(reader: Reader) -> list[dict[str, Any]]:
    return [f for f in reader.frames if f["type"] == "reactions"]


async def test_a_burst_of_reactions_is_coalesced_and_ends_exact_everywhere(pair: Pair) -> None:
    site = await pair.site()
    posted = [await pair.post(pair.a, site, body=f"comment {i}") for i in range(COMMENTS)]
    ids = [int(p["comment"]["id"]) for p in posted]  # type: ignore[index]
    watchers = [
        await Reader.open(server.ws_url, site, seq=COMMENTS)
        for server in (pair.a, pair.b)
        for _ in range(3)
    ]
    # And a reader of another page of the site: it hears nothing of these.
    elsewhere = await Reader.open(pair.b.ws_url, site, "other-page")

    gate = asyncio.Semaphore(IN_FLIGHT)
    failures: list[str] = []

    async def reader(n: int) -> None:
        server = (pair.a, pair.b)[n % 2]
        headers = {"X-Forwarded-For": f"100.{64 + n // 250}.{n % 250}.9"}
        for j, comment_id in enumerate(ids):
            kind = "down" if (n + j) % 3 == 0 else "up"
            async with gate:
                r = await pair.http.put(
                    f"{server.url}/api/v1/sites/{site}/comments/{comment_id}/reaction",
                    json={"reaction": kind},
                    headers=headers,
                )
            if r.status_code != 200:
                failures.append(r.text)
                continue
            if "token" in r.json():
                headers["Authorization"] = f"Bearer {r.json()['token']}"

    began = time.monotonic()
    await asyncio.gather(*(reader(n) for n in range(READERS)))
    assert failures == []

    expected = {
        str(comment_id): {
            "up": sum(1 for n in range(READERS) if (n + j) % 3),
            "down": sum(1 for n in range(READERS) if (n + j) % 3 == 0),
        }
        for j, comment_id in enumerate(ids)
    }
    async with pair.store.read() as tx:
        stored = await tx.reaction_totals(ids)
    assert {str(k): dict(v) for k, v in stored.items()} == expected
    for watcher in watchers:
        await watcher.wait(lambda w=watcher: totals_seen(w) == expected, timeout=20)
    window = time.monotonic() - began

    # Coalesced: at most one frame per EVERY per process, plus the first and some slack,
    # however long the burst took on this machine.
    bound = math.ceil(window / EVERY) + 3
    counts = [len(reactions_frames(w)) for w in watchers]
    assert all(1 <= n <= bound for n in counts), (counts, bound, window)
    assert max(counts) <= READERS * COMMENTS / 20  # whatever the machine: not one per reaction
    for watcher in watchers:
        for frame in reactions_frames(watcher):
            assert frame["seq"] == 0 and frame["page"] == "p"
            assert set(frame["data"]["comments"]) <= set(expected)
        # No durable event came of it: the page's seq is where the comments left it.
        assert watcher.durable() == []
    assert reactions_frames(elsewhere) == []
    listed = await pair.http.get(f"{pair.b.url}/api/v1/sites/{site}/thread", params={"page": "p"})
    assert listed.json()["page"]["seq"] == COMMENTS
    assert {str(c["id"]): c["reactions"] for c in listed.json()["comments"]} == expected
    for watcher in [*watchers, elsewhere]:
        await watcher.close()


async def test_a_lone_reaction_arrives_at_once_on_both_processes(pair: Pair) -> None:
    site = await pair.site()
    posted = await pair.post(pair.a, site, body="react to me")
    comment_id = int(posted["comment"]["id"])  # type: ignore[index]
    on_a = await Reader.open(pair.a.ws_url, site, seq=1)
    on_b = await Reader.open(pair.b.ws_url, site, seq=1)
    r = await pair.http.put(
        f"{pair.b.url}/api/v1/sites/{site}/comments/{comment_id}/reaction",
        json={"reaction": "up"},
        headers={"X-Forwarded-For": "100.99.1.9"},
    )
    assert r.status_code == 200, r.text
    for watcher in (on_a, on_b):
        frame = await watcher.next("reactions")
        assert frame == {
            "type": "reactions",
            "page": "p",
            "seq": 0,
            "data": {"comments": {str(comment_id): {"up": 1}}},
        }
    taken = await pair.http.delete(
        f"{pair.a.url}/api/v1/sites/{site}/comments/{comment_id}/reaction",
        headers={"X-Forwarded-For": "100.99.1.9", "Authorization": f"Bearer {r.json()['token']}"},
    )
    assert taken.json() == {"reaction": None, "reactions": {}}
    for watcher in (on_a, on_b):
        await watcher.wait(lambda w=watcher: totals_seen(w) == {str(comment_id): {}})
        assert len(reactions_frames(watcher)) == 2
        await watcher.close()


async def test_a_room_flushes_once_per_interval_and_a_closed_room_drops_what_it_waited_for(
    asgi_api: Api,
) -> None:
    site = await asgi_api.new_site()
    posted = await asgi_api.post(site, body="react to me")
    comment_id = posted["comment"]["id"]
    page = (await asgi_api.thread(site))["page"]
    async with asgi_api.store.read() as tx:
        stored_page = await tx.find_page(site, page["key"])
    assert stored_page is not None

    async def nothing(*_: object) -> list[tuple[int, Frame, bool]]:
        return []

    room = Room("tl:p:test", stored_page, nothing)
    rooms = {room.channel: room}
    flushed = asyncio.Event()
    counts = ReactionCounts(asgi_api.store, rooms, lambda _room: flushed.set())
    counts.rang(room, comment_id)
    counts.rang(room, comment_id)
    await asyncio.wait_for(flushed.wait(), 10)
    assert counts.frames == 1
    # The next doorbell waits out the interval since that flush, however soon it rings.
    loop = asyncio.get_running_loop()
    counts.rang(room, comment_id)
    assert counts._timers[room].when() - loop.time() > EVERY / 2
    # The room closes meanwhile: nothing of it is kept, and nothing is sent for it.
    del rooms[room.channel]
    counts.forget(room)
    assert room not in counts._pending and room not in counts._timers
    assert room not in counts._last
    counts.rang(room, comment_id)  # a doorbell after the close, before the registry knew
    await counts.close()
    assert counts.frames == 1 and not counts._pending and not counts._timers
