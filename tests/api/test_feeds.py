"""Atom feeds of the newest approved comments, per site and per page."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from tests.support.api import ORIGIN, Api

A = "{http://www.w3.org/2005/Atom}"


async def feed(api: Api, site: str, **params: str) -> ET.Element:
    r = await api.http.get(f"/api/v1/sites/{site}/feed.atom", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(r.content)
    assert root.tag == f"{A}feed"
    assert root.findtext(f"{A}id") and root.findtext(f"{A}updated")
    return root


def bodies(root: ET.Element) -> list[str | None]:
    return [e.findtext(f"{A}content") for e in root.iter(f"{A}entry")]


async def test_site_and_page_feeds_list_the_newest_approved_comments(api: Api) -> None:
    site = await api.new_site()
    hostile = "<script>alert(1)</script> & ]]> \u0436"
    await api.post(site, "one", "first", name="Ann")
    await api.post(site, "two", "second", url=f"{ORIGIN}/two", title="Two")
    gone = await api.post(site, "one", "deleted later")
    await api.post(site, "one", hostile)
    r = await api.http.delete(
        f"/api/v1/sites/{site}/comments/{gone['comment']['id']}",
        headers={"Authorization": f"Bearer {gone['author_token']}"},
    )
    assert r.status_code in (200, 204), r.text

    whole = await feed(api, site)
    assert bodies(whole) == [hostile, "second", "first"]  # newest first, text kept exactly
    entries = list(whole.iter(f"{A}entry"))
    assert entries[2].findtext(f"{A}author/{A}name") == "Ann"
    assert entries[1].find(f"{A}link").get("href") == f"{ORIGIN}/two"  # type: ignore[union-attr]
    assert entries[0].find(f"{A}content").get("type") == "text"  # type: ignore[union-attr]
    assert len({e.findtext(f"{A}id") for e in entries}) == 3

    page = await feed(api, site, page="one")
    assert bodies(page) == [hostile, "first"]
    assert bodies(await feed(api, site, page="never-seen")) == []
    assert (await api.rows(site))["pages"] == 2  # a feed never creates pages


async def test_pending_comments_stay_out_of_feeds(api: Api) -> None:
    site = await api.new_site(moderation="all")
    await api.post(site, "p", "waiting for a moderator")
    assert bodies(await feed(api, site)) == []
    assert bodies(await feed(api, site, page="p")) == []


async def test_feed_of_an_unknown_site_is_a_json_404(api: Api) -> None:
    r = await api.http.get("/api/v1/sites/nope-nope/feed.atom")
    assert r.status_code == 404
    assert r.json()["error"]["code"]


async def test_a_forged_host_header_never_reaches_the_feed(api: Api) -> None:
    site = await api.new_site()
    await api.post(site, "one", "first")
    r = await api.http.get(f"/api/v1/sites/{site}/feed.atom", headers={"Host": "evil.test"})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-cache"  # an erased comment leaves it now
    assert b"evil.test" not in r.content
    assert ET.fromstring(r.content).find(f"{A}link[@rel='self']") is None  # no public URL set


def test_the_self_link_comes_from_the_public_url() -> None:
    from server.api.feeds import render
    from server.core.models import Page, Site

    site = Site("blog", "Blog", ("https://blog.test",))
    page = Page(1, "blog", "a page/with?odd&chars", None, None, 0, 0)
    root = ET.fromstring(render(site, page, [], "https://comments.example/"))
    link = root.find(f"{A}link[@rel='self']")
    assert link is not None
    assert link.get("href") == (
        "https://comments.example/api/v1/sites/blog/feed.atom?page=a+page%2Fwith%3Fodd%26chars"
    )
