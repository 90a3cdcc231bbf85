"""Spam guards: honeypot, submission timing, duplicates, per-page limits, proxies."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from server.app import create_app
from server.core.context import command_services
from server.core.sites import add_site
from server.http.clientip import client_ip
from server.store.database import SqlStore
from server.store.schema import comments
from tests.support.api import Api, Clock
from tests.support.config import SECRET, settings_for
from tests.support.db import Databases


async def test_honeypot_is_held_for_a_moderator_and_answered_as_pending(api: Api) -> None:
    site = await api.new_site()
    r = await api.post(site, body="Buy now", hp="http://spam.test")
    assert r["status"] == "pending"
    assert r["comment"]["status"] == "pending"
    thread = await api.thread(site)
    assert thread["comments"] == []
    assert thread["page"]["seq"] == 0
    async with api.store.read() as tx:
        stored = await tx.find_comment(r["comment"]["id"])
    assert stored is not None
    # Held in the queue, never Spam unseen: a person's browser may have autofilled it.
    assert stored.status.value == "pending"
    assert stored.held_reason is not None and "honeypot" in stored.held_reason


async def test_duplicate_comment_is_409(api: Api) -> None:
    site = await api.new_site()
    first = await api.post(site, body="Same words")
    r = await api.http.post(
        f"/api/v1/sites/{site}/comments",
        json={"page": "p", "body": "Same words"},
        headers={"Authorization": f"Bearer {first['author_token']}"},
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "duplicate_comment"
    other_page = await api.post(site, "elsewhere", "Same words", token=first["author_token"])
    assert other_page["status"] == "approved"


async def test_the_duplicate_check_follows_edits_and_erased_text_leaves_no_hash(api: Api) -> None:
    site = await api.new_site()
    first = await api.post(site, body="The first words")
    token = first["author_token"]
    r = await api.http.patch(
        f"/api/v1/sites/{site}/comments/{first['comment']['id']}",
        json={"body": "The edited words"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    # The text as it is now is the duplicate; the text it no longer has is not.
    again = await api.http.post(
        f"/api/v1/sites/{site}/comments",
        json={"page": "p", "body": "The edited words"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert again.status_code == 409
    assert (await api.post(site, body="The first words", token=token))["status"] == "approved"
    gone = await api.http.delete(
        f"/api/v1/sites/{site}/comments/{first['comment']['id']}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert gone.status_code in (200, 204), gone.text
    async with api.store.read() as tx:
        left = await tx.find_comment(first["comment"]["id"])
        hashed = (
            await tx.conn.execute(
                select(comments.c.body_hash).where(comments.c.id == first["comment"]["id"])
            )
        ).scalar()
    assert left is not None and left.body == ""
    assert hashed is None  # no fingerprint of the erased text stays behind


async def test_duplicate_window_ends(asgi_api: Api, time_travel: Clock) -> None:
    site = await asgi_api.new_site()
    first = await asgi_api.post(site, body="Again later")
    time_travel.offset = 11 * 60
    again = await asgi_api.post(site, body="Again later", token=first["author_token"])
    assert again["status"] == "approved"


@pytest.fixture(params=[("sqlite", "memory"), ("postgresql", "redis")], ids=lambda p: "-".join(p))
async def strict(request: pytest.FixtureRequest, databases: Databases, tmp_path: Path) -> Any:
    """An app with the production guards switched on: on SQLite with the in-process
    limiter, and on PostgreSQL with the limits counted in a real Redis."""
    backend, broker = request.param
    url = await databases.create(backend)
    store = SqlStore(url)
    await add_site(command_services(store, SECRET), "g", origins=["https://blog.test"])
    clock = Clock()
    redis_url = request.getfixturevalue("redis_server").scratch_url() if broker == "redis" else None
    settings = settings_for(
        url, tmp_path, min_submit_ms=3000, page_rate_limit=3, redis_url=redis_url
    )
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        yield app, clock
    await store.close()


def client(app: Any, ip: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(ip, 1)), base_url="http://t"
    )


async def test_form_sent_too_soon_after_loading_is_held(strict: Any) -> None:
    app, clock = strict
    async with client(app, "198.51.100.1") as http:
        token = (await http.get("/api/v1/sites/g/thread?page=p")).json()["form_token"]
        fast = await http.post(
            "/api/v1/sites/g/comments", json={"page": "p", "body": "instant", "form_token": token}
        )
        assert fast.json()["status"] == "pending"
        clock.offset = 4
        slow = await http.post(
            "/api/v1/sites/g/comments",
            json={"page": "p", "body": "considered", "form_token": token},
        )
        assert slow.json()["status"] == "approved"
        forged = await http.post(
            "/api/v1/sites/g/comments",
            json={"page": "p", "body": "forged", "form_token": "1.deadbeef"},
        )
        assert forged.json()["status"] == "pending"  # no better than a fast one
        missing = await http.post(
            "/api/v1/sites/g/comments", json={"page": "q", "body": "without a form token"}
        )  # p took its 3 a minute
        assert missing.json()["status"] == "pending"
    async with app.state.tl.store.read() as tx:
        reasons = {c.body: c.held_reason for c in await tx.site_comments("g")}
    assert reasons["forged"] == reasons["without a form token"] == "sent without a valid form token"


async def test_page_rate_limit_counts_everyone_together(strict: Any) -> None:
    app, _ = strict
    statuses = []
    for i in range(5):
        async with client(app, f"198.51.{i}.9") as http:
            r = await http.post("/api/v1/sites/g/comments", json={"page": "hot", "body": f"c{i}"})
            statuses.append(r.status_code)
    assert statuses == [201, 201, 201, 429, 429]
    async with client(app, "198.51.50.9") as http:
        r = await http.post("/api/v1/sites/g/comments", json={"page": "calm", "body": "ok"})
        assert r.status_code == 201


async def test_page_rate_limit_counts_spellings_of_one_page_together(strict: Any) -> None:
    app, _ = strict
    statuses = []
    for i, spelling in enumerate(["rl", " rl", "rl\n", "\u00a0rl", "rl "]):
        async with client(app, f"198.51.{i}.9") as http:
            r = await http.post(
                "/api/v1/sites/g/comments", json={"page": spelling, "body": f"c{i}"}
            )
            statuses.append(r.status_code)
    assert statuses == [201, 201, 201, 429, 429]


async def test_viewing_pages_creates_nothing(strict: Any) -> None:
    app, _ = strict
    async with client(app, "198.51.100.40") as http:
        for i in range(300):
            r = await http.get(
                "/api/v1/sites/g/thread",
                params={"page": f"made-up-{i}", "url": "https://blog.test/x", "title": "Spoofed"},
            )
            assert r.status_code == 200
            assert r.json()["page"] == {
                "key": f"made-up-{i}",
                "seq": 0,
                "count": 0,
                "title": None,
                "url": None,
            }
            events = await http.get("/api/v1/sites/g/events", params={"page": f"made-up-{i}"})
            assert events.json() == {"events": [], "seq": 0, "has_more": False}
    async with app.state.tl.store.read() as tx:
        assert [p.key for p in await tx.site_pages("g")] == []
    assert app.state.tl.thread_cache._entries == {}  # nothing to evict the real pages with


def scope(peer: str, forwarded: str | None) -> dict[str, Any]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"client": (peer, 1234), "headers": headers}


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.9", "1.2.3.4", (), "203.0.113.9"),  # no proxy trusted: header ignored
        ("10.0.0.2", "1.2.3.4", ("10.0.0.0/8",), "1.2.3.4"),
        ("203.0.113.9", "1.2.3.4", ("10.0.0.0/8",), "203.0.113.9"),  # untrusted peer
        ("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.3", ("10.0.0.0/8",), "1.2.3.4"),  # spoof on left
        ("10.0.0.2", "10.0.0.7", ("10.0.0.0/8",), "10.0.0.7"),
    ],
)
def test_forwarded_for_is_honoured_only_from_trusted_proxies(
    peer: str, forwarded: str, trusted: tuple[str, ...], expected: str
) -> None:
    assert client_ip(scope(peer, forwarded), trusted) == expected


def test_settings_replace_keeps_guards_on_by_default() -> None:
    from server.settings import Settings

    defaults = Settings()
    assert (defaults.rate_limit, defaults.page_rate_limit, defaults.min_submit_ms) == (10, 60, 3000)
    assert dataclasses.replace(defaults, rate_limit=0).rate_limit == 0


async def test_short_identical_texts_from_one_network_are_fine(api: Api) -> None:
    site = await api.new_site()
    assert (await api.post(site, body="Thanks!"))["status"] == "approved"
    assert (await api.post(site, body="Thanks!"))["status"] == "approved"  # another author
    long = "This exact sentence is long enough to count as copy-paste spam."
    await api.post(site, body=long)
    r = await api.http.post(f"/api/v1/sites/{site}/comments", json={"page": "p", "body": long})
    assert r.status_code == 409
