"""Structured logs: one JSON object per line, the request id on every record of a request."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from server.metrics import HttpStats
from server.runtime import log_filters, logs
from tests.support.config import env_for
from tests.support.db import Databases
from tests.support.servers import ServerProcess


async def handler(request: Request) -> PlainTextResponse:
    logging.getLogger("threadline.test").warning("inside %s", "the handler")
    return PlainTextResponse("ok")


@pytest.fixture(autouse=True)
def _root_logger_restored() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    for h in [h for h in root.handlers if h.get_name() == "threadline"]:
        root.removeHandler(h)
    root.setLevel(level)


@pytest.fixture
def app() -> Starlette:
    stats = HttpStats()
    return Starlette(
        routes=[Route("/things/{n:int}", handler)],
        middleware=[Middleware(logs.RequestContext, stats=stats)],
    )


async def get(app: Starlette, path: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        return await http.get(path, headers=headers)


async def test_json_records_carry_the_request_id_and_the_route(
    app: Starlette, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("json", "info", access_log=True)
    r = await get(app, "/things/42", **{"X-Request-ID": "edge-abc-123"})
    assert r.headers["x-request-id"] == "edge-abc-123"
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    inside = next(x for x in records if x["logger"] == "threadline.test")
    assert inside["msg"] == "inside the handler" and inside["level"] == "warning"
    assert inside["request_id"] == "edge-abc-123" and inside["ts"].endswith("+00:00")
    access = next(x for x in records if x["logger"] == "threadline.access")
    assert (access["route"], access["status"], access["request_id"]) == (
        "/things/{n:int}",
        200,
        "edge-abc-123",
    )  # the template, never the raw path


async def test_text_format_for_a_terminal_and_access_log_off_by_default(
    app: Starlette, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("text", "info")
    r = await get(app, "/things/7", **{"X-Request-ID": "x\x7fnot-an-id"})
    rid = r.headers["x-request-id"]
    assert rid != "x\x7fnot-an-id" and len(rid) == 32  # a hostile id is replaced
    err = capsys.readouterr().err
    assert f"WARNING threadline.test: inside the handler [{rid}]" in err
    assert "threadline.access" not in err


def uvicorn_says(level: int = logging.INFO) -> None:
    """What uvicorn 0.54 and websockets log about one client, in their own words."""
    error = logging.getLogger("uvicorn.error")
    client, path = "203.0.113.9:5123", "/ws?site=s&token=q-secret"
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', client, "GET", "/healthz?q-secret", "1.1", 200
    )
    error.info('%s - "WebSocket %s" [accepted]', client, path)
    error.info('%s - "WebSocket %s" 403', client, "/nowhere/203.0.113.9?q-secret")
    error.info('%s - "WebSocket %s" %d', client, path, 429)
    error.info("connection open")
    error.info("connection rejected (%d %s)", 429, "Too Many Requests")
    error.debug("< GET %s HTTP/1.1", path)
    error.debug("< %s: %s", "X-Forwarded-For", "203.0.113.9")
    error.log(level, "%sHTTP connection made", "203.0.113.9:5123 - ")
    error.log(level, "%sHTTP connection made", "[2001:db8::9]:5123 - ")


@pytest.mark.parametrize("access_log", [False, True])
def test_uvicorn_records_lose_client_addresses_and_queries(
    capsys: pytest.CaptureFixture[str], access_log: bool
) -> None:
    logs.configure("json", "debug", access_log=access_log)
    log_filters.install(socket_routes=["/ws"])
    uvicorn_says()
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    text = json.dumps(records)
    assert "203.0.113" not in text and "2001:db8" not in text and "q-secret" not in text
    assert [r["msg"] for r in records if r["logger"] == "uvicorn.error"] == [
        "HTTP connection made",
        "HTTP connection made",
    ]
    handshakes = [
        (r["msg"], r["route"], r["status"]) for r in records if r["logger"] == "threadline.access"
    ]
    assert handshakes == (
        [
            ("WebSocket /ws 101", "/ws", 101),
            ("WebSocket unmatched 403", "unmatched", 403),
            ("WebSocket /ws 429", "/ws", 429),
        ]
        if access_log
        else []
    )


def test_uvicorn_does_not_even_format_its_access_lines() -> None:
    logs.configure("json", "info", access_log=True)
    # uvicorn's protocols read this once per connection, and skip the line when False.
    assert not logging.getLogger("uvicorn.access").hasHandlers()


async def test_outgoing_request_urls_never_reach_the_log(caplog: pytest.LogCaptureFixture) -> None:
    """Webhook URLs often carry their receiver's secret; httpx logs every URL at INFO."""
    logs.configure("json", "info")
    caplog.set_level(logging.DEBUG, logger="threadline")

    async def receiver(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver)) as http:
        r = await http.post("https://hooks.example/services/T000/B000/SECRETSECRET", json={})
    assert r.status_code == 204
    assert "SECRETSECRET" not in caplog.text


def test_json_records_carry_no_colour_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """uvicorn hands its formatter the message again with ANSI colours, as an extra."""
    logs.configure("json", "info")
    logging.getLogger("uvicorn.error").info(
        "Started server process [%d]",
        42,
        extra={"color_message": "Started server process [\x1b[36m%d\x1b[0m]"},
    )
    err = capsys.readouterr().err
    assert json.loads(err)["msg"] == "Started server process [42]"
    assert "\x1b" not in err and "\\u001b" not in err and "color_message" not in err


async def test_a_server_starts_and_stops_in_a_few_lines_of_plain_json(
    databases: Databases, tmp_path: Path
) -> None:
    server = ServerProcess(env_for(await databases.create("sqlite"), tmp_path)).start()
    assert server.log is not None and server.proc is not None
    deadline = time.monotonic() + 30
    while "Uvicorn running on" not in server.log.read_text():
        assert time.monotonic() < deadline, server.log.read_text()
        await asyncio.sleep(0.05)
    started = server.log.read_text().splitlines()
    server.proc.send_signal(signal.SIGINT)  # Ctrl-C
    assert await asyncio.to_thread(server.proc.wait, 30) == 0
    text = server.log.read_text()
    records = [json.loads(line) for line in text.splitlines()]
    assert "\\u001b" not in text and "color_message" not in text
    assert [r["msg"].split(" [")[0] for r in records[: len(started)]] == [
        "Started server process",
        records[1]["msg"],
        f"Uvicorn running on {server.url} (Press CTRL+C to quit)",
    ]
    assert records[1]["msg"].startswith("threadline node") and "ready" in records[1]["msg"]
    assert [r["msg"].split(" [")[0] for r in records[len(started) :]] == [
        "Shutting down",
        "Finished server process",
    ]
