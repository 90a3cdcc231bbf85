"""Listing a thread: cursors for comments and replies, both orders, counts, tombstones."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.api import ORIGIN, Api


async def _post_many(
    api: Api, site: str, page: str, n: int, parent: int | None = None
) -> list[int]:
    ids = []
    for i in range(n):  # sequential: creation order is the order we assert on
        extra: dict[str, Any] = {"parent": parent} if parent else {}
        posted = await api.post(site, page, f"comment {i}", **extra)
        ids.append(posted["comment"]["id"])
    return ids


async def test_load_more_comments_walks_three_pages_newest_first(api: Api) -> None:
    site = await api.new_site()
    ids = await _post_many(api, site, "long", 45)
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str] = {"cursor": cursor} if cursor else {}
        data = await api.thread(site, "long", **params)
        pages += 1
        seen += [c["id"] for c in data["comments"]]
        if not data["has_more"]:
            assert data["cursor"] is None
            break
        cursor = data["cursor"]
    assert pages == 3
    assert seen == list(reversed(ids))
    assert data["page"]["count"] == 45


async def test_load_more_comments_oldest_first(api: Api) -> None:
    site = await api.new_site()
    ids = await _post_many(api, site, "long", 45)
    first = await api.thread(site, "long", order="oldest")
    second = await api.thread(site, "long", order="oldest", cursor=first["cursor"])
    third = await api.thread(site, "long", order="oldest", cursor=second["cursor"])
    got = [c["id"] for d in (first, second, third) for c in d["comments"]]
    assert got == ids
    assert [len(d["comments"]) for d in (first, second, third)] == [20, 20, 5]
    assert third["has_more"] is False


async def test_new_comments_do_not_shift_cursor_pages(api: Api) -> None:
    site = await api.new_site()
    ids = await _post_many(api, site, "p", 25)
    first = await api.thread(site, "p")
    await _post_many(api, site, "p", 3)  # arrive while the reader pages
    second = await api.thread(site, "p", cursor=first["cursor"])
    got = [c["id"] for c in first["comments"] + second["comments"]]
    assert got == list(reversed(ids))


async def test_load_more_replies_walks_every_reply_in_order(api: Api) -> None:
    site = await api.new_site()
    top = (await api.post(site, "p", "top"))["comment"]["id"]
    replies = await _post_many(api, site, "p", 50, parent=top)
    thread = await api.thread(site, "p")
    first = thread["comments"][0]
    assert first["reply_count"] == 50
    assert [r["id"] for r in first["replies"]] == replies[:3]
    seen = [r["id"] for r in first["replies"]]
    cursor = first["replies_cursor"]
    calls = 0
    while cursor:
        r = await api.http.get(
            f"/api/v1/sites/{site}/comments/{top}/replies", params={"cursor": cursor}
        )
        assert r.status_code == 200, r.text
        seen += [x["id"] for x in r.json()["replies"]]
        cursor = r.json()["cursor"]
        calls += 1
    assert seen == replies
    assert calls == 3


async def test_comment_without_more_replies_has_no_reply_cursor(api: Api) -> None:
    site = await api.new_site()
    top = (await api.post(site, "p", "top"))["comment"]["id"]
    await _post_many(api, site, "p", 3, parent=top)
    first = (await api.thread(site, "p"))["comments"][0]
    assert len(first["replies"]) == 3
    assert first["replies_cursor"] is None


async def test_viewing_creates_nothing_and_the_first_post_names_the_page(api: Api) -> None:
    site = await api.new_site()
    data = await api.thread(site, "fresh", title="Spoofed title", url="http://blog.test:8080/x")
    assert data["comments"] == []
    assert data["page"] == {"key": "fresh", "seq": 0, "count": 0, "title": None, "url": None}
    assert (await api.rows(site))["pages"] == 0
    await api.post(site, "fresh", title="Fresh article", url="http://blog.test:8080/f")
    data = await api.thread(site, "fresh")
    assert (data["page"]["title"], data["page"]["url"]) == (
        "Fresh article",
        "http://blog.test:8080/f",
    )


async def test_bad_cursor_and_order_are_422(api: Api) -> None:
    site = await api.new_site()
    for params, code in [
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"cursor": "W10"}, "invalid_cursor"),
        ({"order": "sideways"}, "invalid_order"),
    ]:
        r = await api.http.get(f"/api/v1/sites/{site}/thread", params={"page": "p", **params})
        assert r.status_code == 422, params
        assert r.json()["error"]["code"] == code


async def test_cursor_of_other_order_is_refused(api: Api) -> None:
    site = await api.new_site()
    await _post_many(api, site, "p", 21)
    newest = await api.thread(site, "p")
    r = await api.http.get(
        f"/api/v1/sites/{site}/thread",
        params={"page": "p", "order": "oldest", "cursor": newest["cursor"]},
    )
    assert r.status_code == 422


async def test_missing_page_parameter_is_422(api: Api) -> None:
    site = await api.new_site()
    r = await api.http.get(f"/api/v1/sites/{site}/thread")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "missing_page"


async def test_concurrent_first_posts_create_one_page(api: Api) -> None:
    site = await api.new_site()
    results = await asyncio.gather(*(api.post(site, "race", f"first {i}") for i in range(10)))
    assert all(r["page"]["key"] == "race" for r in results)
    assert (await api.rows(site))["pages"] == 1


async def test_spam_never_names_a_page_and_a_url_key_names_itself(api: Api) -> None:
    site = await api.new_site()
    await api.post(
        site,
        "custom-key",
        "buy now",
        url=f"{ORIGIN}/logout?next=//evil.test",
        title="URGENT: log in again at evil.test",
        hp="http://spam.example",
    )
    assert (await api.thread(site, "custom-key"))["page"]["title"] is None  # the honeypot
    await api.post(site, "custom-key", "a real reader", url=f"{ORIGIN}/post", title="Post")
    page = (await api.thread(site, "custom-key"))["page"]
    assert (page["url"], page["title"]) == (f"{ORIGIN}/post", "Post")
    keyed = f"{ORIGIN}/articles/42"
    await api.post(site, keyed, "first!", url=f"{ORIGIN}/somewhere-else", title="Article 42")
    page = (await api.thread(site, keyed))["page"]
    assert (page["url"], page["title"]) == (keyed, "Article 42")
