"""200 concurrent posts through two real server processes: 200 rows, seq 1..200, no gaps."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from server.core.context import command_services
from server.core.sites import add_site
from server.store.database import SqlStore
from server.store.schema import comments, events
from tests.support.config import BACKENDS, SECRET, env_for
from tests.support.db import Databases
from tests.support.net import http_client
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("backend", BACKENDS)
async def test_200_concurrent_posts_to_one_page_are_gap_free(
    backend: str, databases: Databases, tmp_path: Path
) -> None:
    url = await databases.create(backend)
    store = SqlStore(url)
    await add_site(command_services(store, SECRET), "busy", origins=["http://blog.test"])
    servers = [ServerProcess(env_for(url, tmp_path)).start() for _ in range(2)]
    try:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with http_client(timeout=60, limits=limits) as http:
            responses = await asyncio.gather(
                *(
                    http.post(
                        f"{servers[i % 2].url}/api/v1/sites/busy/comments",
                        json={"page": "hot", "body": f"comment {i}"},
                    )
                    for i in range(200)
                )
            )
        assert [r.status_code for r in responses] == [201] * 200
        async with store.read() as tx:
            bodies = (await tx.conn.execute(select(comments.c.body))).scalars().all()
            seqs = (
                (await tx.conn.execute(select(events.c.seq).order_by(events.c.seq))).scalars().all()
            )
        assert sorted(bodies) == sorted(f"comment {i}" for i in range(200))
        assert list(seqs) == list(range(1, 201))
        # Each response's seq is distinct: every commit took its own number.
        assert sorted(r.json()["page"]["seq"] for r in responses) == list(range(1, 201))
    finally:
        for server in servers:
            server.terminate()
        await store.close()
