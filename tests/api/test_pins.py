"""Pinned comments: pinned and unpinned from the moderation pages and by a signed-in
moderator through the API, at most 3 a page, first in every order, durable events, and the
pin gone with the comment; on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from server.store.database import SqlStore
from server.store.schema import audit_log, comments
from tests.support.api import Api
from tests.support.moderation import Mod, moderator_of
from tests.support.net import http_client
from tests.support.servers import ServerProcess
from tests.support.sso import claims, enable_sso, hs256_key
from tests.support.ws import Reader


async def pin(mod: Mod, comment_id: int, action: str = "pin") -> httpx.Response:
    return await mod.act(comment_id, action, expected=None)


async def post_many(api: Api, site: str, n: int, page: str = "p") -> list[int]:
    return [(await api.post(site, page, f"comment {i}"))["comment"]["id"] for i in range(n)]


async def events(api: Api, site: str, after: int, page: str = "p") -> list[dict[str, Any]]:
    r = await api.http.get(f"/api/v1/sites/{site}/events", params={"page": page, "after": after})
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["events"]
    return found


async def pinned_at(store: SqlStore, comment_id: int) -> int | None:
    async with store.read() as tx:
        row = (
            await tx.conn.execute(select(comments.c.pinned_at).where(comments.c.id == comment_id))
        ).one()
    value: int | None = row.pinned_at
    return value


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_moderator_pins_from_the_moderation_pages_with_events_and_audit(
    asgi_api: Api,
) -> None:
    api = asgi_api
    site = await api.new_site()
    ids = await post_many(api, site, 5)
    seq = (await api.thread(site))["page"]["seq"]
    async with moderator_of(api, site) as mod:
        # The Approved tab offers Pin on published top-level comments.
        approved = await mod.queue(tab="approved", site=site)
        assert f'action="/moderate/comments/{ids[1]}/pin"' in approved
        r = await pin(mod, ids[1])
        assert r.status_code == 200, r.text
        assert r.json() == {"id": ids[1], "pinned": True}
        assert f'action="/moderate/comments/{ids[1]}/unpin"' in await mod.queue(
            tab="approved", site=site
        )
        again = await pin(mod, ids[1])  # already pinned: nothing changes, nothing recorded
        assert again.status_code == 200 and again.json()["pinned"] is True
        # Without CSRF the form is refused and nothing changes.
        forged = await mod.http.post(
            f"/moderate/comments/{ids[2]}/pin", headers={"Accept": "application/json"}
        )
        assert forged.status_code == 403
        # The HTML form: back to the queue with a message.
        form = await mod.http.post(
            f"/moderate/comments/{ids[2]}/pin",
            data={"csrf": mod.csrf, "return_to": "/moderate?tab=approved"},
        )
        assert form.status_code == 303
        assert (await pin(mod, ids[1], "unpin")).json() == {"id": ids[1], "pinned": False}
    thread = await api.thread(site)
    assert [c["id"] for c in thread["comments"]] == [ids[2], ids[4], ids[3], ids[1], ids[0]]
    assert [c["pinned"] for c in thread["comments"]] == [True, False, False, False, False]
    found = await events(api, site, seq)
    assert [(e["type"], e["seq"], e["data"]["comment"]["id"]) for e in found] == [
        ("comment.pinned", seq + 1, ids[1]),
        ("comment.pinned", seq + 2, ids[2]),
        ("comment.unpinned", seq + 3, ids[1]),
    ]
    # Replayed as the comments are now: ids[1] no longer pinned, ids[2] still is.
    assert [e["data"]["comment"]["pinned"] for e in found] == [False, True, False]
    assert all(e["data"]["count"] == 5 for e in found)
    assert thread["page"]["seq"] == seq + 3
    async with api.store.read() as tx:
        audited = (
            await tx.conn.execute(
                select(audit_log.c.action, audit_log.c.comment_id)
                .where(audit_log.c.site_id == site)
                .order_by(audit_log.c.id)
            )
        ).all()
    assert [tuple(a) for a in audited] == [("pin", ids[1]), ("pin", ids[2]), ("unpin", ids[1])]


async def test_pinned_comments_open_the_first_page_in_every_order_and_only_there(
    asgi_api: Api,
) -> None:
    api = asgi_api
    site = await api.new_site()
    ids = await post_many(api, site, 30)
    async with moderator_of(api, site) as mod:
        for comment_id in (ids[3], ids[27], ids[15]):  # pinned in this order
            assert (await pin(mod, comment_id)).status_code == 200
    pinned = [ids[15], ids[27], ids[3]]  # most recently pinned first
    rest = [i for i in ids if i not in pinned]
    for order, ordered in (
        ("newest", rest[::-1]),
        ("oldest", rest),
        ("best", rest[::-1]),  # no reactions: all tie at 0, newest first
    ):
        first = await api.thread(site, order=order)
        assert [c["id"] for c in first["comments"]] == pinned + ordered[:20], order
        second = await api.thread(site, order=order, cursor=first["cursor"])
        assert [c["id"] for c in second["comments"]] == ordered[20:], order
        assert second["has_more"] is False


async def test_only_three_pins_a_page_and_only_published_top_level_comments(
    asgi_api: Api,
) -> None:
    api = asgi_api
    site = await api.new_site()
    ids = await post_many(api, site, 5)
    other_page = await post_many(api, site, 1, page="other")
    reply = (await api.post(site, "p", "a reply", parent=ids[0]))["comment"]["id"]
    held_site = await api.new_site(moderation="all")
    held = (await api.post(held_site, "p", "held"))["comment"]["id"]
    async with moderator_of(api, site, held_site) as mod:
        for comment_id in ids[:3]:
            assert (await pin(mod, comment_id)).status_code == 200
        full = await pin(mod, ids[3])
        assert full.status_code == 409
        assert full.json()["error"]["code"] == "too_many_pins"
        assert await pinned_at(api.store, ids[3]) is None
        # Another page has room of its own.
        assert (await pin(mod, other_page[0])).status_code == 200
        for refused in (reply, held):
            r = await pin(mod, refused)
            assert r.status_code == 409, r.text
            assert r.json()["error"]["code"] == "not_pinnable"
            # No pin to take off is no error.
            r = await pin(mod, refused, "unpin")
            assert r.status_code == 200 and r.json()["pinned"] is False
        assert (await pin(mod, ids[0], "unpin")).status_code == 200
        assert (await pin(mod, ids[3])).status_code == 200
        missing = await pin(mod, 2**61)
        assert missing.status_code == 404
    # A failed pin leaves the page's seq as it was: pins, the unpin and the last pin only.
    seq = (await api.thread(site))["page"]["seq"]
    assert [e["type"] for e in await events(api, site, seq - 5)] == [
        "comment.pinned",
        "comment.pinned",
        "comment.pinned",
        "comment.unpinned",
        "comment.pinned",
    ]


async def test_a_moderator_of_another_site_cannot_pin(asgi_api: Api) -> None:
    api = asgi_api
    site, elsewhere = await api.new_site(), await api.new_site()
    [comment_id] = await post_many(api, site, 1)
    async with moderator_of(api, elsewhere) as mod:
        r = await pin(mod, comment_id)
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "not_your_site"
    assert await pinned_at(api.store, comment_id) is None


async def test_a_signed_in_moderator_pins_through_the_api_and_others_are_refused(
    asgi_api: Api,
) -> None:
    api = asgi_api
    key = hs256_key()
    site = await api.new_site()
    await enable_sso(api.store, site, key, moderators=True)
    untrusting = await api.new_site()
    await enable_sso(api.store, untrusting, key, moderators=False)

    async def session(on: str, **more: Any) -> str:
        r = await api.http.post(
            f"/api/v1/sites/{on}/sso/session", json={"token": key.sign(claims(on, **more))}
        )
        assert r.status_code == 200, r.text
        value: str = r.json()["session"]
        return value

    moderator = await session(site, sub="mod-1", name="Mia", role="moderator")
    reader = await session(site, sub="reader-1", name="Rae")
    posted = await api.post(site, "p", "pin me")
    comment_id, author_token = posted["comment"]["id"], posted["author_token"]
    url = f"/api/v1/sites/{site}/comments/{comment_id}/pin"
    for headers, status, code in [
        ({}, 401, "token_required"),
        (bearer(author_token), 403, "not_moderator"),
        (bearer(reader), 403, "not_moderator"),
        (bearer("x.y.z"), 401, None),
    ]:
        r = await api.http.put(url, headers=headers)
        assert r.status_code == status, (headers, r.text)
        if code:
            assert r.json()["error"]["code"] == code
    r = await api.http.put(url, headers=bearer(moderator))
    assert r.status_code == 200, r.text
    assert r.json()["comment"]["pinned"] is True
    assert (await api.thread(site))["comments"][0]["pinned"] is True
    refused = await api.http.delete(url, headers=bearer(reader))
    assert refused.status_code == 403
    r = await api.http.delete(url, headers=bearer(moderator))
    assert r.status_code == 200 and r.json()["comment"]["pinned"] is False
    # A site that does not trust its sign-in's moderator claims: the claim gives no power.
    claimed = await session(untrusting, sub="mod-1", name="Mia", role="moderator")
    there = (await api.post(untrusting, "p", "not pinnable by claim"))["comment"]["id"]
    r = await api.http.put(
        f"/api/v1/sites/{untrusting}/comments/{there}/pin", headers=bearer(claimed)
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "not_moderator"
    async with api.store.read() as tx:
        detail = (
            await tx.conn.execute(
                select(audit_log.c.detail).where(
                    audit_log.c.site_id == site, audit_log.c.action == "pin"
                )
            )
        ).scalar_one()
    assert detail == "signed-in moderator Mia (user id mod-1)"


async def test_a_pinned_comment_that_leaves_public_view_is_unpinned(asgi_api: Api) -> None:
    api = asgi_api
    site = await api.new_site()
    by_author = await api.post(site, "p", "deleted by its author")
    by_moderator, rejected, erased = await post_many(api, site, 3)
    erased_author = await api.post(site, "p", "erased with its author")
    async with moderator_of(api, site, owner=True) as mod:
        for comment_id in (by_author["comment"]["id"], by_moderator, rejected):
            assert (await pin(mod, comment_id)).status_code == 200
        r = await api.http.delete(
            f"/api/v1/sites/{site}/comments/{by_author['comment']['id']}",
            headers=bearer(by_author["author_token"]),
        )
        assert r.status_code == 200, r.text
        assert (await mod.act(by_moderator, "delete", "approved", confirm="1")).status_code == 200
        assert (await mod.act(rejected, "reject", "approved")).status_code == 200
        # Every pin went with its comment: the page has room for three again.
        assert (await pin(mod, erased_author["comment"]["id"])).status_code == 200
        assert (await pin(mod, erased)).status_code == 200
        r = await mod.http.post(
            f"/moderate/comments/{erased_author['comment']['id']}/erase",
            data={"csrf": mod.csrf},
            headers={"Accept": "application/json"},
        )
        assert r.status_code == 200, r.text
        # A restored comment comes back unpinned.
        assert (await mod.act(by_moderator, "restore", "deleted")).status_code == 200
    for comment_id in (by_author["comment"]["id"], by_moderator, rejected):
        assert await pinned_at(api.store, comment_id) is None
    assert await pinned_at(api.store, erased_author["comment"]["id"]) is None
    thread = await api.thread(site)
    assert [(c["id"], c["pinned"]) for c in thread["comments"] if c["pinned"]] == [(erased, True)]
    assert {c["id"] for c in thread["comments"]} == {erased, by_moderator}


async def test_pins_reach_live_readers(live_server: ServerProcess, backend_store: SqlStore) -> None:
    async with http_client(base_url=live_server.url, timeout=30) as http:
        api = Api(http, backend_store, "uvicorn")
        site = await api.new_site()
        [comment_id] = await post_many(api, site, 1)
        reader = await Reader.open(live_server.ws_url, site)
        try:
            async with moderator_of(api, site) as mod:
                assert (await pin(mod, comment_id)).status_code == 200
                pinned = await reader.next("comment.pinned")
                assert pinned["data"]["comment"]["id"] == comment_id
                assert pinned["data"]["comment"]["pinned"] is True
                assert (await pin(mod, comment_id, "unpin")).status_code == 200
                unpinned = await reader.next("comment.unpinned")
                assert unpinned["seq"] == pinned["seq"] + 1
                assert unpinned["data"]["comment"]["pinned"] is False
            # A reader who left before the pin catches up from its seq: the same two events.
            late = await Reader.open(live_server.ws_url, site, seq=pinned["seq"] - 1)
            try:
                assert [(f["type"], f["seq"]) for f in late.durable()] == [
                    ("comment.pinned", pinned["seq"]),
                    ("comment.unpinned", unpinned["seq"]),
                ]
            finally:
                await late.close()
        finally:
            await reader.close()
