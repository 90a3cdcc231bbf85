"""Structured logs: one JSON object per line, the request id on every record of a request."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from server import logs
from server.metrics import HttpStats


async def handler(request: Request) -> PlainTextResponse:
    logging.getLogger("threadline.test").warning("inside %s", "the handler")
    return PlainTextResponse("ok")


@pytest.fixture
def app() -> Iterator[Starlette]:
    stats = HttpStats()
    yield Starlette(routes=[Route("/things/{n:int}", handler)],
                    middleware=[Middleware(logs.RequestContext, stats=stats)])
    root = logging.getLogger()
    for h in [h for h in root.handlers if h.get_name() == "threadline"]:
        root.removeHandler(h)


async def get(app: Starlette, path: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as http:
        return await http.get(path, headers=headers)


async def test_json_records_carry_the_request_id_and_the_route(
        app: Starlette, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("json", "info", access_log=True)
    r = await get(app, "/things/42", **{"X-Request-ID": "edge-abc-123"})
    assert r.headers["x-request-id"] == "edge-abc-123"
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    inside = next(x for x in records if x["logger"] == "threadline.test")
    assert inside["msg"] == "inside the handler" and inside["level"] == "warning"
    assert inside["request_id"] == "edge-abc-123" and inside["ts"].endswith("+00:00")
    access = next(x for x in records if x["logger"] == "threadline.access")
    assert (access["route"], access["status"], access["request_id"]) == (
        "/things/{n:int}", 200, "edge-abc-123")  # the template, never the raw path


async def test_text_format_for_a_terminal_and_access_log_off_by_default(
        app: Starlette, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("text", "info")
    r = await get(app, "/things/7", **{"X-Request-ID": "x\x7fnot-an-id"})
    rid = r.headers["x-request-id"]
    assert rid != "x\x7fnot-an-id" and len(rid) == 32  # a hostile id is replaced
    err = capsys.readouterr().err
    assert f"WARNING threadline.test: inside the handler [{rid}]" in err
    assert "threadline.access" not in err
