"""A hot page (issue 19): 2,000 posts to one page from 50 concurrent clients through two
server processes, on both databases. Not timed: what it checks is that the write path's
shortcuts keep every guarantee: ``seq`` 1..2,000 with no gap or duplicate, each comment
stored once, and the duplicate check still refusing a repeat."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from server.core.context import command_services
from server.core.sites import add_site
from server.store.database import SqlStore
from server.store.schema import comments, events, pages
from tests.support.config import BACKENDS, SECRET, env_for
from tests.support.db import Databases
from tests.support.net import http_client
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.slow

CLIENTS = 50
EACH = 40  # posts per client: 2,000 in all


def _body(client: int, n: int) -> str:
    # Long enough that the same text from the same network counts as a duplicate.
    return f"client {client} says thing number {n} about this hot story"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_2000_posts_from_50_clients_to_one_page(
    backend: str, databases: Databases, tmp_path: Path
) -> None:
    url = await databases.create(backend)
    store = SqlStore(url)
    await add_site(command_services(store, SECRET), "hot", origins=["http://blog.test"])
    servers = [ServerProcess(env_for(url, tmp_path)).start() for _ in range(2)]
    try:
        limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
        async with http_client(timeout=120, limits=limits) as http:

            async def client(number: int) -> list[dict[str, Any]]:
                # A reader of their own network, alternating between the two processes.
                network = {"X-Forwarded-For": f"198.51.{number // 250}.{number % 250 + 1}"}
                posted = []
                for n in range(EACH):
                    r = await http.post(
                        f"{servers[n % 2].url}/api/v1/sites/hot/comments",
                        json={"page": "story", "body": _body(number, n)},
                        headers=network,
                    )
                    assert r.status_code == 201, r.text
                    posted.append(r.json())
                return posted

            results = [
                p for each in await asyncio.gather(*map(client, range(CLIENTS))) for p in each
            ]

            total = CLIENTS * EACH
            assert sorted(p["page"]["seq"] for p in results) == list(range(1, total + 1))
            async with store.read() as tx:
                stored = (await tx.conn.execute(select(comments.c.id, comments.c.body))).all()
                seqs = (
                    await tx.conn.execute(select(events.c.seq).order_by(events.c.seq))
                ).scalars()
                count = (await tx.conn.execute(select(func.max(pages.c.comment_count)))).scalar()
                assert list(seqs) == list(range(1, total + 1))
            assert sorted(body for _, body in stored) == sorted(
                _body(c, n) for c in range(CLIENTS) for n in range(EACH)
            )
            assert sorted(i for i, _ in stored) == sorted(p["comment"]["id"] for p in results)
            assert count == total

            # The duplicate check still holds on the full page: the same author again (from
            # another network) and the same network again (another author) are refused.
            first = results[0]
            again = await http.post(
                f"{servers[1].url}/api/v1/sites/hot/comments",
                json={"page": "story", "body": first["comment"]["body"]},
                headers={
                    "Authorization": f"Bearer {first['author_token']}",
                    "X-Forwarded-For": "192.0.2.99",
                },
            )
            assert again.status_code == 409, again.text
            assert again.json()["error"]["code"] == "duplicate_comment"
            network = await http.post(
                f"{servers[0].url}/api/v1/sites/hot/comments",
                json={"page": "story", "body": _body(7, 3)},
                headers={"X-Forwarded-For": "198.51.0.8"},  # client 7's network
            )
            assert network.status_code == 409, network.text
            assert network.json()["error"]["code"] == "duplicate_comment"
        async with store.read() as tx:
            assert (await tx.conn.execute(select(func.count()).select_from(comments))).scalar() == (
                CLIENTS * EACH
            )
    finally:
        for server in servers:
            server.terminate()
        await store.close()
