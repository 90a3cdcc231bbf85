"""The moderators' websocket: a session and our own origin, or no connection."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import update
from websockets.exceptions import ConnectionClosed, InvalidStatus

from server.core.context import command_services
from server.core.moderators import add_moderator
from server.core.passwords import hasher
from server.store.schema import sessions
from tests.support.api import Api
from tests.support.config import SECRET, env_for, remove_moderator
from tests.support.moderation import PASSWORD, Mod
from tests.support.net import http_client, ws_connect
from tests.support.servers import ServerProcess


async def test_moderator_socket_needs_a_session_and_our_origin(
    live_server: Any, backend_store: Any
) -> None:
    url = live_server.ws_url.replace("/ws", "/moderate/ws")
    own_origin = live_server.url
    with pytest.raises(InvalidStatus) as err:
        async with ws_connect(url, origin=own_origin):
            pass
    assert err.value.response.status_code == 401
    async with http_client(base_url=live_server.url) as http:
        api = Api(http, backend_store, "uvicorn")
        site = await api.new_site(moderation="all")
        await add_moderator(
            command_services(backend_store, SECRET),
            hasher("test"),
            f"ws-{site}@example.com",
            site,
            password=PASSWORD,
        )
        mod = Mod(http, f"ws-{site}@example.com")
        assert (await mod.login()).status_code == 303
        cookie = f"tl_session={http.cookies.get('tl_session')}"
        with pytest.raises(InvalidStatus) as err:
            async with ws_connect(
                url,
                origin="https://evil.test",
                additional_headers={"Cookie": cookie},
            ):
                pass
        assert err.value.response.status_code == 403
        async with ws_connect(
            url,
            origin=own_origin,
            additional_headers={"Cookie": cookie},
        ) as ws:
            hello = json.loads(await ws.recv())  # subscribed: what the page shows, and counts
            assert hello == {
                "type": "hello",
                "data": {"counts": hello["data"]["counts"], "items": [], "has_next": False},
            }
            assert hello["data"]["counts"]["pending"] == 0
            posted = await api.post(site, body="held for the live queue")
            frame = json.loads(await ws.recv())
            assert frame["type"] == "queue.changed"
            assert frame["data"]["item"]["id"] == posted["comment"]["id"]
            assert frame["data"]["tabs"] == ["pending"]


async def _moderator_of_a_new_site(http: Any, store: Any, who: str) -> tuple[Api, str, Mod]:
    """A site holding every comment, and its moderator logged in through ``http``."""
    api = Api(http, store, "uvicorn")
    site = await api.new_site(moderation="all")
    mod = Mod(http, f"{who}-{site}@example.com")
    await add_moderator(
        command_services(store, SECRET), hasher("test"), mod.email, site, password=PASSWORD
    )
    assert (await mod.login()).status_code == 303
    return api, site, mod


async def _open_queue(server: Any, http: Any) -> Any:
    """The live queue on ``server``, opened with the session ``http`` logged in with."""
    url = server.ws_url.replace("/ws", "/moderate/ws")
    cookie = f"tl_session={http.cookies.get('tl_session')}"
    ws = await ws_connect(
        url,
        origin=server.url,
        additional_headers={"Cookie": cookie},
    )
    async with asyncio.timeout(10):
        assert json.loads(await ws.recv())["type"] == "hello"  # subscribed from here on
    return ws


async def _closed_with_reason(ws: Any) -> tuple[int | None, str]:
    """Wait for the server to close the socket (frames before the close are skipped)."""
    async with asyncio.timeout(10):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed:
            pass
    return ws.close_code, ws.close_reason or ""


ACCESS_ENDINGS = ["logout", "site revoked", "account deleted", "session expired"]


@pytest.mark.parametrize("ending", ACCESS_ENDINGS)
async def test_live_queue_closes_when_access_ends_in_any_process(
    ending: str,
    backend_db: str,
    live_server: Any,
    backend_store: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # The moderator's socket lives on one process; access ends through another, or through
    # the command line, which tells no running server anything.
    other = ServerProcess(env_for(backend_db, tmp_path_factory.mktemp("other"))).start()
    try:
        async with http_client(base_url=other.url) as http:
            _, site, mod = await _moderator_of_a_new_site(http, backend_store, "leaving")
            ws = await _open_queue(live_server, http)
            async with http_client(base_url=live_server.url) as local:
                posted = await Api(local, backend_store, "uvicorn").post(site, body="watched")
            async with asyncio.timeout(10):
                assert json.loads(await ws.recv())["data"]["item"]["id"] == posted["comment"]["id"]
            if ending == "logout":
                r = await http.post("/moderate/logout", data={"csrf": mod.csrf})
                assert r.status_code == 303
            elif ending == "site revoked":
                await remove_moderator(backend_store, mod.email, site)
            elif ending == "account deleted":
                await remove_moderator(backend_store, mod.email)
            else:
                async with backend_store.write() as tx:
                    await tx.conn.execute(
                        update(sessions).values(seen_at=sessions.c.seen_at - 31 * 60 * 1000)
                    )
            code, reason = await _closed_with_reason(ws)
        assert code == 1008
        assert reason in ("your session ended: log in again", f"you no longer moderate {site}")
    finally:
        other.terminate()


async def test_an_authors_edit_reaches_the_live_queue(live_server: Any, backend_store: Any) -> None:
    async with http_client(base_url=live_server.url) as http:
        api, site, _ = await _moderator_of_a_new_site(http, backend_store, "editwatch")
        ws = await _open_queue(live_server, http)
        posted = await api.post(site, body="the first version")
        cid = posted["comment"]["id"]
        async with asyncio.timeout(10):
            first = json.loads(await ws.recv())
            r = await http.patch(
                f"/api/v1/sites/{site}/comments/{cid}",
                json={"body": "the switched version"},
                headers={"Authorization": f"Bearer {posted['author_token']}"},
            )
            assert r.status_code == 200
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "queue.changed":
                    break
        assert frame["data"]["item"]["id"] == cid
        assert frame["data"]["item"]["body"] == "the switched version"
        assert frame["data"]["item"]["version"] != first["data"]["item"]["version"]
        await ws.close()


async def test_a_search_with_control_characters_is_a_search_not_a_500(
    live_server: Any, backend_store: Any
) -> None:
    # Fails before control characters were taken out of searches: PostgreSQL refuses a NUL
    # in text, so the page answered 500 and the socket's hello died with a traceback (and
    # its moderator stayed in the hub).
    async with http_client(base_url=live_server.url) as http:
        api, site, _ = await _moderator_of_a_new_site(http, backend_store, "nul")
        await api.post(site, body="a held remark")
        page = await http.get("/moderate", params={"q": "held\x00 remark\x07"})
        assert page.status_code == 200
        assert "a held remark" in page.text
        url = live_server.ws_url.replace("/ws", "/moderate/ws") + "?q=held%00%20remark"
        cookie = f"tl_session={http.cookies.get('tl_session')}"
        async with ws_connect(
            url, origin=live_server.url, additional_headers={"Cookie": cookie}
        ) as ws:
            async with asyncio.timeout(10):
                hello = json.loads(await ws.recv())
        assert hello["type"] == "hello"
        assert [item["body"] for item in hello["data"]["items"]] == ["a held remark"]
