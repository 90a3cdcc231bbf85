"""Permalinks: ``thread?around=ID`` lists the thread from the start through the page holding
a comment (or a reply's parent, with its replies through the reply), exactly as loading
more that many times would; beyond 10 pages, only the page holding it. SQLite and
PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server.store.tx import SqlTx
from tests.support.api import Api


async def post_many(
    api: Api, site: str, n: int, page: str = "p", parent: int | None = None
) -> list[int]:
    extra: dict[str, Any] = {"parent": parent} if parent else {}
    return [
        (await api.post(site, page, f"comment {i}", **extra))["comment"]["id"] for i in range(n)
    ]


async def around(
    api: Api, site: str, target: int, headers: dict[str, str] | None = None, **params: str
) -> httpx.Response:
    return await api.http.get(
        f"/api/v1/sites/{site}/thread",
        params={"page": "p", "around": str(target), **params},
        headers=headers,
    )


async def walk(api: Api, site: str, **params: str) -> list[dict[str, Any]]:
    """Every top-level comment, loading more until the end, as the widget does."""
    listed: list[dict[str, Any]] = []
    query = dict(params)
    while True:
        data = await api.thread(site, **query)
        listed += data["comments"]
        if not data["has_more"]:
            return listed
        query["cursor"] = data["cursor"]


async def test_a_comment_on_the_fifth_page_of_ninety(asgi_api: Api) -> None:
    api = asgi_api
    site = await api.new_site()
    ids = await post_many(api, site, 90)
    newest = ids[::-1]
    r = await around(api, site, ids[5])  # newest first: position 84, the fifth page
    assert r.status_code == 200, r.text
    data = r.json()
    assert (data["target"], data["from_start"]) == (ids[5], True)
    assert [c["id"] for c in data["comments"]] == newest
    assert (data["cursor"], data["has_more"]) == (None, False)
    assert data["page"]["count"] == 90 and "form_token" in data
    # On the third page: the first three pages, and a cursor to the fourth that continues
    # exactly where loading more would.
    r = await around(api, site, newest[45])
    data = r.json()
    assert [c["id"] for c in data["comments"]] == newest[:60]
    following = await api.thread(site, cursor=data["cursor"])
    assert [c["id"] for c in following["comments"]] == newest[60:80]
    # Oldest first, the same comment sits on the first page.
    data = (await around(api, site, ids[5], order="oldest")).json()
    assert [c["id"] for c in data["comments"]] == ids[:20]
    assert [
        c["id"] for c in (await api.thread(site, order="oldest", cursor=data["cursor"]))["comments"]
    ] == ids[20:40]


async def test_a_reply_beyond_the_first_three_on_the_fifth_page(asgi_api: Api) -> None:
    api = asgi_api
    site = await api.new_site()
    ids = await post_many(api, site, 90)
    parent = ids[3]  # page 5, newest first
    replies = await post_many(api, site, 30, parent=parent)
    r = await around(api, site, replies[10])
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["target"] == replies[10] and data["from_start"] is True
    assert [c["id"] for c in data["comments"]] == ids[::-1]
    [shown] = [c for c in data["comments"] if c["id"] == parent]
    # The first three replies, then the first page of more (20): through the one linked.
    assert [x["id"] for x in shown["replies"]] == replies[:23]
    assert shown["replies_from_start"] is True
    more = await api.http.get(
        f"/api/v1/sites/{site}/comments/{parent}/replies",
        params={"cursor": shown["replies_cursor"]},
    )
    assert [x["id"] for x in more.json()["replies"]] == replies[23:]
    # Every other comment lists its replies as the plain listing does.
    plain = {c["id"]: c for c in await walk(api, site)}
    for comment in data["comments"]:
        if comment["id"] != parent:
            assert comment == plain[comment["id"]]
    # A reply among the first three: the parent as the listing shows it.
    early = (await around(api, site, replies[1])).json()
    [shown] = [c for c in early["comments"] if c["id"] == parent]
    assert shown == plain[parent]


async def test_beyond_ten_pages_only_the_page_holding_it(asgi_api: Api) -> None:
    api = asgi_api
    site = await api.new_site()
    ids = await post_many(api, site, 230)
    newest = ids[::-1]
    target = newest[205]  # the eleventh page: positions 200-219
    for order in ("newest", "best"):  # no reactions: best is newest among ties
        data = (await around(api, site, target, order=order)).json()
        assert data["from_start"] is False
        assert [c["id"] for c in data["comments"]] == newest[200:220]
        rest = await api.thread(site, order=order, cursor=data["cursor"])
        assert [c["id"] for c in rest["comments"]] == newest[220:]
    # The tenth page is still listed from the start.
    data = (await around(api, site, newest[199])).json()
    assert data["from_start"] is True
    assert [c["id"] for c in data["comments"]] == newest[:200]


async def test_unknown_hidden_and_foreign_comments_are_not_found(asgi_api: Api) -> None:
    api = asgi_api
    site, other_site = await api.new_site(), await api.new_site()
    [here] = await post_many(api, site, 1)
    [other_page] = await post_many(api, site, 1, page="q")
    [foreign] = await post_many(api, other_site, 1)
    deleted = await api.post(site, "p", "deleted by its author")
    gone = await api.http.delete(
        f"/api/v1/sites/{site}/comments/{deleted['comment']['id']}",
        headers={"Authorization": f"Bearer {deleted['author_token']}"},
    )
    assert gone.status_code == 200
    held_site = await api.new_site(moderation="all")
    held = (await api.post(held_site, "p", "held"))["comment"]["id"]
    for on, target in [
        (site, 10**15),
        (site, other_page),
        (site, foreign),
        (site, deleted["comment"]["id"]),
        (held_site, held),
    ]:
        r = await around(api, on, target)
        assert r.status_code == 404, (on, target)
        assert r.json()["error"]["code"] == "comment_not_found"
    r = await api.http.get(
        f"/api/v1/sites/{site}/thread", params={"page": "unknown", "around": str(here)}
    )
    assert r.status_code == 404
    for value in ("abc", "0", "-1", "1" * 30):
        r = await api.http.get(
            f"/api/v1/sites/{site}/thread", params={"page": "p", "around": value}
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_around", value
    first = await api.thread(site)
    r = await api.http.get(
        f"/api/v1/sites/{site}/thread",
        params={"page": "p", "around": str(here), "cursor": first["cursor"] or "x"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_around"


async def test_a_reply_more_than_ten_reply_pages_in_lists_only_its_reply_page(
    asgi_api: Api,
) -> None:
    api = asgi_api
    site = await api.new_site()
    [parent] = await post_many(api, site, 1)
    replies = await post_many(api, site, 190, parent=parent)
    # The first 3, then pages of 20: replies[182] ends the tenth reply page (3 + 9 * 20).
    data = (await around(api, site, replies[182])).json()
    [shown] = data["comments"]
    assert [x["id"] for x in shown["replies"]] == replies[:183]
    assert shown["replies_from_start"] is True
    more = await api.http.get(
        f"/api/v1/sites/{site}/comments/{parent}/replies",
        params={"cursor": shown["replies_cursor"]},
    )
    assert [x["id"] for x in more.json()["replies"]] == replies[183:]
    data = (await around(api, site, replies[185])).json()
    [shown] = data["comments"]
    assert data["from_start"] is True  # the parent is on the first page
    assert [x["id"] for x in shown["replies"]] == replies[183:]
    assert shown["replies_from_start"] is False
    assert shown["replies_cursor"] is None


async def test_a_deep_reply_reads_its_own_reply_page_only(
    asgi_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A permalink far down a long run of replies reads the reply page holding it, not every
    reply before it (hostile review: it read all of them, bodies and all)."""
    api = asgi_api
    site = await api.new_site()
    [parent] = await post_many(api, site, 1)
    replies = await post_many(api, site, 250, parent=parent)
    asked: list[int] = []
    read_replies = SqlTx.replies

    async def counted(self: SqlTx, parent_comment: Any, after: Any, limit: int) -> Any:
        asked.append(limit)
        return await read_replies(self, parent_comment, after, limit)

    monkeypatch.setattr(SqlTx, "replies", counted)
    read_window = SqlTx.replies_window

    async def window(self: SqlTx, parent_id: int, skip: int, limit: int) -> Any:
        asked.append(limit)
        return await read_window(self, parent_id, skip, limit)

    monkeypatch.setattr(SqlTx, "replies_window", window)
    data = (await around(api, site, replies[240])).json()
    [shown] = data["comments"]
    assert replies[240] in [x["id"] for x in shown["replies"]]
    assert shown["replies_from_start"] is False
    assert asked and max(asked) <= 21  # one reply page and one more


@pytest.mark.parametrize("value", ["²", "1²", "\u0661", "+1", " 1"])
async def test_around_takes_ascii_digits_only(asgi_api: Api, value: str) -> None:
    """`str.isdigit` takes superscripts (a 500 before) and other scripts' digits."""
    site = await asgi_api.new_site()
    r = await around(asgi_api, site, 0, around=value)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_around"


async def test_permalinks_and_later_best_pages_are_limited_per_network(asgi_api: Api) -> None:
    """Both rank the whole thread uncached: 60 a minute from one network."""
    api = asgi_api
    site = await api.new_site()
    [target] = await post_many(api, site, 1)
    headers = {"X-Forwarded-For": "100.90.1.1"}
    for _ in range(60):
        r = await around(api, site, target, headers=headers)
        assert r.status_code == 200
    r = await around(api, site, target, headers=headers)
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    other = await around(api, site, target, headers={"X-Forwarded-For": "100.91.1.1"})
    assert other.status_code == 200
