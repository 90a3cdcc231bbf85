"""Text that leaves public view leaves every replay: the event table over HTTP, and the
websocket replay from ``seq`` 0 (served from a room's memory or the database)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.api import Api
from tests.support.moderation import Mod
from tests.support.ws import Reader

SECRET_BODY = "my phone is 555-0199, call me"
SECRET_NAME = "Jane Q. Private"
PATHS = [
    "author erases all",
    "author deletes",
    "moderator rejects",
    "owner erases",
    "readers flag",
    "moderator redacts",
]


async def _take_out_of_view(
    path: str, api: Api, site: str, posted: dict[str, Any], mod: Mod
) -> None:
    comment_id, token = posted["comment"]["id"], posted["author_token"]
    auth = {"Authorization": f"Bearer {token}"}
    if path == "author erases all":
        r = await api.http.delete(f"/api/v1/sites/{site}/authors/me", headers=auth)
    elif path == "author deletes":
        r = await api.http.delete(f"/api/v1/sites/{site}/comments/{comment_id}", headers=auth)
    elif path == "moderator rejects":
        r = await mod.act(comment_id, "reject", expected="approved")
    elif path == "owner erases":
        r = await mod.act(comment_id, "erase", expected=None)
    elif path == "readers flag":
        for reader in range(3):
            flagger = await api.post(
                site,
                "elsewhere",
                f"reader {reader} was here",
                headers={"X-Forwarded-For": f"198.51.{reader}.9"},
            )
            r = await api.http.post(
                f"/api/v1/sites/{site}/comments/{comment_id}/flag",
                headers={
                    "Authorization": f"Bearer {flagger['author_token']}",
                    "X-Forwarded-For": f"198.51.{reader}.9",
                },
            )
            assert r.status_code == 200, r.text
    else:
        r = await mod.act(comment_id, "edit", expected=None, body="[removed by a moderator]")
    assert r.status_code == 200, r.text


def _leaker(path: str) -> Callable[[str], list[str]]:
    # A moderator's edit redacts the body; the name stays on the published comment.
    secrets = (SECRET_BODY, "555-0199") + (() if path == "moderator redacts" else (SECRET_NAME,))
    return lambda text: [secret for secret in secrets if secret in text]


@pytest.mark.parametrize("path", PATHS)
async def test_text_out_of_public_view_leaves_every_replay(
    path: str, api: Api, make_mod: Callable[..., Any]
) -> None:
    site = await api.new_site()
    _leaks = _leaker(path)
    live = api.transport == "uvicorn"
    ws_url = str(api.http.base_url).replace("http", "ws", 1) + "/ws"
    async with make_mod(site, owner=True) as mod:
        # A reader on the page while the comment is public: its room keeps recent frames.
        watcher = await Reader.open(ws_url, site, seq=0) if live else None
        posted = await api.post(site, body=SECRET_BODY, name=SECRET_NAME)
        await api.post(site, body="a reply that stays", parent=posted["comment"]["id"])
        if watcher is not None:
            await watcher.until_seq(2)
        await _take_out_of_view(path, api, site, posted, mod)

        events = await api.http.get(
            f"/api/v1/sites/{site}/events", params={"page": "p", "after": 0}
        )
        seqs = [e["seq"] for e in events.json()["events"]]
        assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 3  # still gap-free
        assert _leaks(events.text) == []
        assert (
            _leaks((await api.http.get(f"/api/v1/sites/{site}/thread", params={"page": "p"})).text)
            == []
        )
        assert _leaks((await api.http.get(f"/api/v1/sites/{site}/feed.atom")).text) == []
        if watcher is not None:
            await watcher.until_seq(seqs[-1])
            late = await Reader.open(ws_url, site, seq=0)
            await late.until_seq(seqs[-1])
            assert late.seqs() == seqs
            assert _leaks(json.dumps(late.frames)) == []
            await late.close()
            await watcher.close()
