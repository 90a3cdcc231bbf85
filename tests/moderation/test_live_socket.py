"""The moderators' websocket: a session and our own origin, or no connection."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from server.core.moderators import add_moderator
from server.core.passwords import hasher
from tests.moderation.conftest import PASSWORD, Mod
from tests.support.api import Api
from tests.support.net import http_client, ws_connect


async def test_moderator_socket_needs_a_session_and_our_origin(live_server: Any,
                                                               backend_store: Any) -> None:
    url = live_server.ws_url.replace("/ws", "/moderate/ws")
    own_origin = live_server.url
    with pytest.raises(InvalidStatus) as err:
        async with ws_connect(url, origin=own_origin):  # type: ignore[arg-type]
            pass
    assert err.value.response.status_code == 401
    async with http_client(base_url=live_server.url) as http:
        api = Api(http, backend_store, "uvicorn")
        site = await api.new_site(moderation="all")
        await add_moderator(backend_store, hasher("test"), f"ws-{site}@example.com", site,
                            password=PASSWORD)
        mod = Mod(http, f"ws-{site}@example.com")
        assert (await mod.login()).status_code == 303
        cookie = f"tl_session={http.cookies.get('tl_session')}"
        with pytest.raises(InvalidStatus) as err:
            async with ws_connect(url, origin="https://evil.test",  # type: ignore[arg-type]
                               additional_headers={"Cookie": cookie}):
                pass
        assert err.value.response.status_code == 403
        async with ws_connect(url, origin=own_origin,  # type: ignore[arg-type]
                           additional_headers={"Cookie": cookie}) as ws:
            posted = await api.post(site, body="held for the live queue")
            frame = json.loads(await ws.recv())
            assert frame["type"] == "queue.changed"
            assert frame["data"]["item"]["id"] == posted["comment"]["id"]
            assert frame["data"]["tabs"] == ["pending"]
