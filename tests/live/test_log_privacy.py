"""A real `threadline serve` logs no client address and no query string (docs/privacy.md):
uvicorn's access and websocket lines are dropped, or with THREADLINE_ACCESS_LOG=1 replaced
by Threadline's own records (method, route template, status)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from tests.support.api import ORIGIN
from tests.support.db import Databases
from tests.support.live import running_one, sqlite_with_site
from tests.support.net import CLIENT_IP, http_client, ws_connect

pytestmark = pytest.mark.slow
SITE = "quiet"
MARK = "q-marker"  # travels in every query string; must reach no log


async def visit(url: str, ws_url: str) -> None:
    """Two HTTP requests, an accepted websocket and a refused one, all with a query."""
    async with http_client(base_url=url, timeout=30) as http:
        assert (await http.get("/healthz", params={"x": MARK})).status_code == 200
        r = await http.get(
            f"/api/v1/sites/{SITE}/thread", params={"page": MARK}, headers={"Origin": ORIGIN}
        )
        assert r.status_code == 200
    async with ws_connect(f"{ws_url}?site={SITE}&x={MARK}", origin=ORIGIN):
        pass
    with pytest.raises(InvalidStatus):
        async with ws_connect(f"{ws_url}?site={MARK}", origin=ORIGIN):
            pass


def records(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


@pytest.mark.parametrize("access_log", ["0", "1"])
async def test_logs_name_no_client_address_and_no_query(
    databases: Databases, tmp_path: Path, access_log: str
) -> None:
    db = await sqlite_with_site(databases, SITE)
    with running_one(
        db, tmp_path, THREADLINE_LOG_LEVEL="info", THREADLINE_ACCESS_LOG=access_log
    ) as server:
        await visit(server.url, server.ws_url)
    assert server.log is not None  # read after the process has exited: every line is there
    text = server.log.read_text()
    assert CLIENT_IP not in text
    assert MARK not in text
    assert not re.search(r':\d+ - \\?"', text)  # uvicorn's `ADDR:PORT - "GET ...` shape
    access = [
        (r["msg"], r.get("route"), r.get("status"))
        for r in records(server.log)
        if "access" in r["logger"]
    ]
    if access_log == "0":
        assert access == []
        return
    assert [(m.split()[0], route, status) for m, route, status in access] == [
        ("GET", "/healthz", 200),
        ("GET", "/api/v1/sites/{site}/thread", 200),
        ("WebSocket", "/ws", 101),
        ("WebSocket", "/ws", 404),
    ]
