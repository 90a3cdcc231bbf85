"""Pins are durable events: pinned on one process, they reach readers of the other through
real Redis, in seq order, and replay to a reader who resumes from before them (PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.api.test_pins import pin
from tests.support.api import Api
from tests.support.live import Pair
from tests.support.moderation import moderator_of
from tests.support.net import http_client
from tests.support.ws import Reader

pytestmark = pytest.mark.slow


async def test_a_pin_on_one_process_reaches_readers_of_the_other(pair: Pair) -> None:
    site = await pair.site()
    posted = await pair.post(pair.a, site, body="pin me")
    comment_id = int(posted["comment"]["id"])  # type: ignore[index]
    on_a = await Reader.open(pair.a.ws_url, site, seq=1)
    on_b = await Reader.open(pair.b.ws_url, site, seq=1)
    try:
        async with (
            http_client(base_url=pair.a.url, timeout=30) as http,
            moderator_of(Api(http, pair.store, "uvicorn"), site) as moderator,
        ):
            assert (await pin(moderator, comment_id)).status_code == 200
            for reader in (on_a, on_b):
                pinned = await reader.next("comment.pinned")
                assert pinned["seq"] == 2
                assert pinned["data"]["comment"]["id"] == comment_id
                assert pinned["data"]["comment"]["pinned"] is True
            assert (await pin(moderator, comment_id, "unpin")).status_code == 200
            for reader in (on_a, on_b):
                unpinned = await reader.next("comment.unpinned")
                assert unpinned["seq"] == 3
                assert unpinned["data"]["comment"]["pinned"] is False
        # B's listing agrees, and a reader resuming from before the pin gets both events.
        listed = await pair.http.get(
            f"{pair.b.url}/api/v1/sites/{site}/thread", params={"page": "p"}
        )
        assert [c["pinned"] for c in listed.json()["comments"]] == [False]
        late = await Reader.open(pair.b.ws_url, site, seq=1)
        try:
            assert [(f["type"], f["seq"]) for f in late.durable()] == [
                ("comment.pinned", 2),
                ("comment.unpinned", 3),
            ]
        finally:
            await late.close()
    finally:
        await on_a.close()
        await on_b.close()
