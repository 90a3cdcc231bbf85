"""Under an ASGI server other than uvicorn's websockets-sansio, readers are served through
the portable path (an ASGI writer task with a byte-bounded queue): same guarantees."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.core.context import command_services
from server.core.sites import add_site
from server.store.database import SqlStore
from tests.support.api import ORIGIN
from tests.support.config import SECRET, env_for
from tests.support.db import Databases
from tests.support.net import http_client
from tests.support.servers import ServerProcess
from tests.support.ws import RawClient, Reader

pytestmark = pytest.mark.slow


class WsprotoServer(ServerProcess):
    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "server.app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--ws",
            "wsproto",
            "--log-level",
            "info",
        ]


@pytest.fixture
async def server(databases: Databases, tmp_path: Path) -> AsyncIterator[ServerProcess]:
    url = await databases.create("sqlite")
    store = SqlStore(url)
    await add_site(command_services(store, SECRET), "portable", origins=[ORIGIN])
    await store.close()
    proc = WsprotoServer(env_for(url, tmp_path, THREADLINE_WS_QUEUE_BYTES="16384")).start()
    yield proc
    proc.terminate()


async def test_portable_path_delivers_replays_and_drops_the_stuck(server: ServerProcess) -> None:
    async with http_client(base_url=server.url) as http:

        async def post(body: str) -> int:
            r = await http.post("/api/v1/sites/portable/comments", json={"page": "p", "body": body})
            assert r.status_code == 201
            seq: int = r.json()["page"]["seq"]
            return seq

        await post("before")
        good = await Reader.open(server.ws_url, "portable", "p", seq=0)
        await good.until_seq(1)  # replayed
        stuck = RawClient(server.port, "portable")
        stuck.send_text(json.dumps({"type": "subscribe", "page": "p", "seq": 0}))
        await good.wait(lambda: good.presence() == 2)
        last = 1
        for i in range(600):
            last = await post(f"{i:04} " + "€" * 4990)
            if good.presence() == 1:
                break
        await good.wait(lambda: good.presence() == 1, timeout=20)
        last = await post("after")
        await good.until_seq(last, timeout=30)
        assert good.seqs() == list(range(1, last + 1))
        await asyncio.to_thread(stuck.close)
        await good.close()
