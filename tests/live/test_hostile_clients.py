"""Hostile websocket clients are refused or dropped; good readers on the page lose nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.support.api import ORIGIN
from tests.support.db import Databases
from tests.support.live import running_one, sqlite_with_site
from tests.support.metrics import TOKEN, scrape
from tests.support.net import http_client, ws_connect
from tests.support.servers import ServerProcess
from tests.support.ws import RawClient, Reader

pytestmark = pytest.mark.slow
SITE = "hostile"


@pytest.fixture(scope="module")
async def hostile_db(databases: Databases) -> str:
    return await sqlite_with_site(databases, SITE)


@pytest.fixture(scope="module")
def server(hostile_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_one(
        hostile_db,
        tmp_path_factory.mktemp("hostile"),
        THREADLINE_WS_MAX_PER_IP="6",
        THREADLINE_WS_QUEUE_BYTES="16384",
        THREADLINE_METRICS_TOKEN=TOKEN,
    ) as proc:
        yield proc


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(timeout=30) as client:
        yield client


async def post(http: httpx.AsyncClient, server: ServerProcess, page: str, body: str) -> int:
    r = await http.post(
        f"{server.url}/api/v1/sites/{SITE}/comments", json={"page": page, "body": body}
    )
    assert r.status_code == 201, r.text
    seq: int = r.json()["page"]["seq"]
    return seq


async def refused(url: str, origin: str | None) -> tuple[int, dict[str, object]]:
    with pytest.raises(InvalidStatus) as err:
        async with ws_connect(url, origin=origin, open_timeout=5):
            pass
    response = err.value.response
    return response.status_code, json.loads(response.body or b"{}")


async def test_wrong_origin_is_refused_at_the_handshake(server: ServerProcess) -> None:
    status, body = await refused(f"{server.ws_url}?site={SITE}", "https://evil.test")
    assert status == 403
    assert body["error"]["code"] == "origin_not_allowed"  # type: ignore[index]


async def test_missing_origin_is_refused(server: ServerProcess) -> None:
    status, _ = await refused(f"{server.ws_url}?site={SITE}", None)
    assert status == 403


async def test_unknown_site_is_refused(server: ServerProcess) -> None:
    status, body = await refused(f"{server.ws_url}?site=nope", ORIGIN)
    assert status == 404
    assert body["error"]["code"] == "unknown_site"  # type: ignore[index]


async def test_unsupported_protocol_version_is_refused(server: ServerProcess) -> None:
    status, _ = await refused(f"{server.ws_url}?site={SITE}&v=9", ORIGIN)
    assert status == 400


@pytest.mark.parametrize(
    ("frame", "code", "reason"),
    [
        ("x" * 9000, 1009, ""),
        ("{not json", 1007, "not valid JSON"),
        ('["a list"]', 1007, "JSON object"),
        ('{"type": "launch_missiles"}', 1008, "unknown frame type"),
        (b"\x00\x01binary", 1003, "binary"),
        ('{"type": "sync"}', 1008, "seq"),
        ('{"type": "subscribe", "page": "p2"}', 1008, "already subscribed"),
    ],
)
async def test_bad_frames_close_the_socket_with_a_reason(
    server: ServerProcess, http: httpx.AsyncClient, frame: str | bytes, code: int, reason: str
) -> None:
    page = f"frames-{code}-{abs(hash(frame)) % 10000}"
    good = await Reader.open(server.ws_url, SITE, page, seq=0)
    bad = await Reader.open(server.ws_url, SITE, page, seq=0)
    await bad.send(frame)
    got_code, got_reason = await bad.closed()
    assert got_code == code
    assert reason in got_reason
    seq = await post(http, server, page, "still flowing")
    await good.until_seq(seq)
    await good.close()


async def test_no_subscribe_in_time_or_bad_first_frame_is_closed(server: ServerProcess) -> None:
    bad = await Reader.open(server.ws_url, SITE, "p", wait_sync=False)
    await bad.send({"type": "ping"})  # subscribe was already sent; ping is fine
    await bad.next("pong")
    first = await ws_connect(f"{server.ws_url}?site={SITE}", origin=ORIGIN)
    await first.send(json.dumps({"type": "typing"}))
    await first.wait_closed()
    assert first.close_code == 1008
    assert "first frame must be a subscribe" in (first.close_reason or "")
    await bad.close()


async def test_typing_flood_is_cut_off_and_peers_see_at_most_a_trickle(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    good = await Reader.open(server.ws_url, SITE, "flood", seq=0)
    flooder = await Reader.open(server.ws_url, SITE, "flood", seq=0)
    for _ in range(200):
        try:
            await flooder.send({"type": "typing"})
        except Exception:  # noqa: BLE001 -- closed mid-flood, as intended
            break
    code, reason = await flooder.closed()
    assert code == 1008
    assert "too many" in reason
    await asyncio.sleep(0.5)
    assert len([f for f in good.frames if f["type"] == "typing"]) <= 2
    seq = await post(http, server, "flood", "after the flood")
    await good.until_seq(seq)
    await good.close()


async def test_client_that_never_reads_is_dropped_and_others_get_everything(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    good = await Reader.open(server.ws_url, SITE, "stuck", seq=0)
    stuck = RawClient(server.port, SITE)
    stuck.send_text(json.dumps({"type": "subscribe", "page": "stuck", "seq": 0}))
    await good.wait(lambda: good.presence() == 2)
    # 15 KB frames (3-byte characters): the socket's fixed kernel buffer takes a few before
    # the server's own queue for it fills and it is dropped.
    body = "€" * 4990
    last = 0
    for i in range(600):
        last = await post(http, server, "stuck", f"{i:05} {body}")
        if good.presence() == 1:
            break
    await good.wait(lambda: good.presence() == 1, timeout=15)  # the stuck reader is gone
    assert (await scrape(http, server.url))["threadline_slow_clients_dropped_total"] == 1
    for i in range(5):  # and the page goes on
        last = await post(http, server, "stuck", f"after the drop {i}")
    await good.until_seq(last, timeout=30)
    assert good.seqs() == list(range(1, last + 1))
    # What the stuck client eventually reads ends before the last event: it was cut off.
    data = await asyncio.to_thread(stuck.drain_until_closed)
    assert len(data) < (last - 5) * len(body.encode())
    stuck.close()
    await good.close()


async def test_connections_per_ip_are_capped(server: ServerProcess) -> None:
    open_ = [await Reader.open(server.ws_url, SITE, "cap") for _ in range(6)]
    status, body = await refused(f"{server.ws_url}?site={SITE}", ORIGIN)
    assert status == 429
    assert body["error"]["code"] == "too_many_connections"  # type: ignore[index]
    await open_[0].close()
    await asyncio.sleep(0.2)
    again = await Reader.open(server.ws_url, SITE, "cap")
    for reader in [*open_[1:], again]:
        await reader.close()


def test_server_log_has_no_tracebacks(server: ServerProcess, tmp_path: Path) -> None:
    assert server.log is not None
    assert "Traceback" not in server.log.read_text()


async def test_one_network_brings_only_so_many_new_pages_into_being(server: ServerProcess) -> None:
    """Subscribing is how a page gets its row (viewing creates none): one network may
    create 60 a minute; the next subscribe is closed with 1013, try again later."""
    codes: list[tuple[int | None, str]] = []
    for i in range(61):
        async with ws_connect(
            f"{server.ws_url}?site={SITE}",
            origin=ORIGIN,
            additional_headers={"X-Forwarded-For": "198.51.100.61"},
        ) as ws:
            await ws.send(json.dumps({"type": "subscribe", "page": f"new-page-{i}"}))
            try:
                first = json.loads(await asyncio.wait_for(ws.recv(), 10))
                codes.append((None, first["type"]))
            except Exception:  # noqa: BLE001 -- closed instead of answered
                codes.append((ws.close_code, ws.close_reason or ""))
    assert codes[:60] == [(None, "sync")] * 60
    assert codes[60][0] == 1013 and "new pages" in codes[60][1]
    async with ws_connect(
        f"{server.ws_url}?site={SITE}",
        origin=ORIGIN,
        additional_headers={"X-Forwarded-For": "198.51.100.61"},
    ) as ws:
        await ws.send(json.dumps({"type": "subscribe", "page": "new-page-3"}))  # exists
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "sync"


async def test_one_ipv6_64_is_one_client_for_the_socket_cap(server: ServerProcess) -> None:
    """An IPv6 subscriber holds a whole /64: its addresses share one cap (6 here)."""
    url = f"{server.ws_url}?site={SITE}"

    async def from_address(address: str) -> Any:
        return await ws_connect(
            url,
            origin=ORIGIN,
            additional_headers={"X-Forwarded-For": address},
        )

    held = [await from_address(f"2001:db8:1:2::{i + 1:x}") for i in range(6)]
    with pytest.raises(InvalidStatus) as err:
        await from_address("2001:db8:1:2:ffff::99")
    assert err.value.response.status_code == 429
    neighbour = await from_address("2001:db8:1:3::1")  # another /64: another subscriber
    for ws in [*held, neighbour]:
        await ws.close()
