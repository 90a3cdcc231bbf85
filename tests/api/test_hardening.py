"""Headers, token secrecy, SQL injection and readiness."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.app import create_app
from server.core.context import command_services
from server.core.sites import add_site
from server.store.database import SqlStore
from tests.support.api import Api
from tests.support.config import SECRET, settings_for
from tests.support.db import Databases
from tests.support.net import http_client
from tests.support.services import free_port
from tests.support.ws import Reader


async def _app(databases: Databases, tmp_path: Path, **overrides: Any) -> Any:
    url = await databases.create("sqlite")
    store = SqlStore(url)
    await add_site(command_services(store, SECRET), "h", origins=["https://blog.test"])
    await store.close()
    return create_app(settings_for(url, tmp_path, **overrides))


async def test_production_sends_hsts_and_secure_cookies(
    databases: Databases, tmp_path: Path
) -> None:
    app = await _app(databases, tmp_path, env="production", secret_key=SECRET)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://t") as http:
            for path in ("/", "/api/v1/sites/h/thread?page=p", "/moderate/login"):
                r = await http.get(path)
                assert r.headers["strict-transport-security"].startswith("max-age=31536000")
                assert r.headers["x-content-type-options"] == "nosniff"
            login = await http.get("/moderate/login")
            assert "Secure" in login.headers["set-cookie"]


async def test_demo_page_csp_allows_only_our_own_script(api: Api) -> None:
    r = await api.http.get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe" not in csp
    assert "<script>" not in r.text  # no inline script, so none needs allowing


async def test_author_tokens_and_hashes_never_leave_the_server(api: Api) -> None:
    site = await api.new_site()
    posted = await api.post(site, body="secret keeper")
    token = posted["author_token"]
    cid = posted["comment"]["id"]
    await api.post(site, body="a reply", parent=cid, token=token)
    bodies = []
    for path, params in [
        (f"/api/v1/sites/{site}/thread", {"page": "p"}),
        (f"/api/v1/sites/{site}/events", {"page": "p"}),
        (f"/api/v1/sites/{site}/comments/{cid}/replies", {}),
        (f"/api/v1/sites/{site}/counts", {"page": "p"}),
    ]:
        bodies.append((await api.http.get(path, params=params)).text)
    mine = await api.http.get(
        f"/api/v1/sites/{site}/authors/me", headers={"Authorization": f"Bearer {token}"}
    )
    bodies.append(mine.text)
    everything = "\n".join(bodies)
    from server.core.authors import AuthorTokens

    assert token not in everything
    assert AuthorTokens.hash(site, token) not in everything
    assert "author_hash" not in everything and "ip_hash" not in everything


async def test_websocket_frames_carry_no_tokens(live_server: Any, backend_store: Any) -> None:
    async with http_client(base_url=live_server.url) as http:
        api = Api(http, backend_store, "uvicorn")
        site = await api.new_site()
        first = await api.post(site, body="before")
        reader = await Reader.open(live_server.ws_url, site, seq=0, token=first["author_token"])
        await api.post(site, body="after", token=first["author_token"])
        await reader.until_seq(2)
        await reader.close()
    frames = json.dumps(reader.frames)
    assert first["author_token"] not in frames
    assert "author_hash" not in frames


SQLI = [
    "' OR '1'='1",
    "1; DROP TABLE comments; --",
    '" OR 1=1 --',
    "p' UNION SELECT password_hash FROM moderators --",
    "%' --",
    "\\'; SELECT pg_sleep(5); --",
]


@pytest.mark.parametrize("payload", SQLI)
async def test_sql_injection_payloads_are_just_text(api: Api, payload: str) -> None:
    site = await api.new_site()
    await api.post(site, "real", "the only comment")
    r = await api.http.get(f"/api/v1/sites/{site}/thread", params={"page": payload})
    assert r.status_code == 200
    assert r.json()["comments"] == []
    assert r.json()["page"]["key"] == payload
    posted = await api.post(site, payload, payload, name=payload[:50])
    assert posted["comment"]["body"] == payload.strip()
    r = await api.http.get(
        f"/api/v1/sites/{site}/thread", params={"cursor": payload, "page": "real"}
    )
    assert r.status_code == 422
    r = await api.http.get(
        f"/api/v1/sites/{site}/counts", params=[("page", payload), ("page", "real")]
    )
    assert r.json()["counts"] == {payload: 1, "real": 1}
    assert len((await api.thread(site, "real"))["comments"]) == 1


async def test_readiness_reports_redis_down_while_liveness_stays_up(
    databases: Databases, tmp_path: Path
) -> None:
    app = await _app(databases, tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            assert (await http.get("/healthz")).status_code == 200
            ready = await http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"] == {
                "process": "ok",
                "database": "ok",
                "redis": "unreachable",
            }
            posted = await http.post(
                "/api/v1/sites/h/comments", json={"page": "p", "body": "Redis is down"}
            )
            assert posted.status_code == 201  # posting never depends on Redis
