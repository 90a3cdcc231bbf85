"""/metrics during a realtime run: two processes through Redis, readers on B, posts on A.
The counters must move with what happened; without the token the endpoint is refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from server.core.context import command_services
from server.core.sites import add_site
from server.store.database import SqlStore
from tests.support.api import ORIGIN
from tests.support.config import SECRET
from tests.support.db import Databases
from tests.support.live import running_pair
from tests.support.metrics import TOKEN, scrape
from tests.support.net import http_client
from tests.support.servers import ServerProcess
from tests.support.services import RedisServer
from tests.support.ws import Reader

pytestmark = pytest.mark.slow
POST_ROUTE = 'route="/api/v1/sites/{site}/comments",method="POST",status="2xx"'


@pytest.fixture(scope="module")
async def metrics_db(databases: Databases) -> str:
    url: str = await databases.create("postgresql")
    store = SqlStore(url, pool_size=2)
    await add_site(command_services(store, SECRET), "mx", origins=[ORIGIN])
    await add_site(command_services(store, SECRET), "mxq", origins=[ORIGIN], mode="all")
    await store.close()
    return url


@pytest.fixture(scope="module")
def pair(
    metrics_db: str, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with running_pair(
        metrics_db,
        redis_server.url,
        tmp_path_factory.mktemp("metrics"),
        THREADLINE_METRICS_TOKEN=TOKEN,
    ) as both:
        yield both


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(timeout=30) as client:
        yield client


async def test_counters_move_with_a_live_thread(
    pair: tuple[ServerProcess, ServerProcess], http: httpx.AsyncClient
) -> None:
    a, b = pair
    # A reader with an author token: their notification channel too.
    own = await http.post(
        f"{a.url}/api/v1/sites/mx/comments", json={"page": "elsewhere", "body": "mine"}
    )
    assert own.status_code == 201, own.text
    author = await Reader.open(b.ws_url, "mx", "elsewhere", token=own.json()["author_token"])
    told = await scrape(http, b.url)
    assert told["threadline_readers_subscribed"] == 1
    assert told["threadline_notification_frames_total"] >= 0
    assert told["threadline_unread_counts_read_total"] >= 0
    await author.close()
    before_a, before_b = await scrape(http, a.url), await scrape(http, b.url)
    readers = [await Reader.open(b.ws_url, "mx", "live", seq=0) for _ in range(3)]
    for i in range(4):
        r = await http.post(
            f"{a.url}/api/v1/sites/mx/comments", json={"page": "live", "body": f"comment {i}"}
        )
        assert r.status_code == 201, r.text
    r = await http.post(
        f"{a.url}/api/v1/sites/mxq/comments", json={"page": "q", "body": "for the queue"}
    )
    assert r.status_code == 201 and r.json()["status"] == "pending", r.text
    for reader in readers:
        await reader.until_seq(4)
    after_a, after_b = await scrape(http, a.url), await scrape(http, b.url)

    assert after_b["threadline_websocket_connections"] == 3
    assert after_b["threadline_pages_subscribed"] >= 1
    assert (
        after_a["threadline_events_published_total"] - before_a["threadline_events_published_total"]
    ) == 4
    # 4 events to 3 readers, plus presence frames as they joined.
    assert (
        after_b["threadline_frames_delivered_total"] - before_b["threadline_frames_delivered_total"]
    ) >= 12
    assert (
        after_b["threadline_fanout_seconds_count"] - before_b["threadline_fanout_seconds_count"]
    ) == 4
    assert (
        after_b['threadline_fanout_seconds_bucket{le="+Inf"}']
        == after_b["threadline_fanout_seconds_count"]
    )
    posts = f"threadline_http_request_duration_seconds_count{{{POST_ROUTE}}}"
    assert after_a[posts] - before_a.get(posts, 0) == 5
    assert after_a['threadline_comments{site="mx",status="approved"}'] == 5  # with "mine"
    assert after_a['threadline_comments{site="mxq",status="pending"}'] == 1
    assert after_a['threadline_moderation_queue_depth{site="mxq"}'] == 1
    assert after_a['threadline_moderation_queue_depth{site="mx"}'] == 0  # present, empty
    assert not any("/comments/" in key and "{comment_id" not in key for key in after_a)
    # A's fan-out reads what A published (a moment after each post) and counts its time.
    for _ in range(200):
        fanned = await scrape(http, a.url)
        read = "threadline_notify_comments_total"
        if fanned[read] - before_a[read] >= 4:
            break
        await asyncio.sleep(0.05)
    assert fanned[read] - before_a[read] >= 4
    busy = "threadline_notify_transaction_seconds_total"
    assert fanned[busy] > before_a[busy]
    for reader in readers:
        await reader.close()
    left = await scrape(http, b.url)
    assert left["threadline_websocket_connections"] == 0
    for _ in range(100):  # the broker unsubscription runs after the socket closed
        if (await scrape(http, b.url))["threadline_readers_subscribed"] == 0:
            break
        await asyncio.sleep(0.05)
    assert (await scrape(http, b.url))["threadline_readers_subscribed"] == 0


async def test_metrics_without_the_token_are_refused(
    pair: tuple[ServerProcess, ServerProcess], http: httpx.AsyncClient
) -> None:
    a, _ = pair
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token-wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
    ):
        r = await http.get(f"{a.url}/metrics", headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthorized"
        assert "threadline_" not in r.text


async def test_metrics_are_off_without_a_configured_token(
    databases: Databases, tmp_path: Path, http: httpx.AsyncClient
) -> None:
    from tests.support.config import env_for

    db = await databases.create("sqlite")
    server = ServerProcess(env_for(db, tmp_path)).start()
    try:
        r = await http.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "metrics_off"
        # Every response carries a request id; a sane one from a proxy is kept.
        assert len(r.headers["x-request-id"]) == 32
        r = await http.get(f"{server.url}/healthz", headers={"X-Request-ID": "edge-1234abcd"})
        assert r.headers["x-request-id"] == "edge-1234abcd"
        r = await http.get(f"{server.url}/healthz", headers={"X-Request-ID": "<b>no good</b>"})
        assert len(r.headers["x-request-id"]) == 32
    finally:
        server.terminate()


async def test_queue_depth_is_zero_not_absent_when_nothing_waits(
    databases: Databases, tmp_path: Path
) -> None:
    from server.app import create_app
    from tests.support.config import settings_for

    db = await databases.create("sqlite")
    store = SqlStore(db, pool_size=1)
    await add_site(command_services(store, SECRET), "quiet", origins=[ORIGIN], mode="all")
    await store.close()
    app = create_app(settings_for(db, tmp_path, metrics_token=TOKEN))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        samples = await scrape(http, "http://test")
    assert samples['threadline_moderation_queue_depth{site="quiet"}'] == 0
