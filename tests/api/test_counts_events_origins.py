"""Counts for many pages, the event replay, and the per-site origin allowlist with CORS."""

from __future__ import annotations

from tests.support.api import ORIGIN, Api


async def test_counts_for_many_pages_in_one_request(api: Api) -> None:
    site = await api.new_site()
    for page, n in (("a", 2), ("b", 1)):
        for _ in range(n):
            await api.post(site, page)
    r = await api.http.get(
        f"/api/v1/sites/{site}/counts", params=[("page", "a"), ("page", "b"), ("page", "never")]
    )
    assert r.status_code == 200
    assert r.json() == {"counts": {"a": 2, "b": 1, "never": 0}}
    r = await api.http.post(f"/api/v1/sites/{site}/counts", json={"pages": ["a", "b"]})
    assert r.json() == {"counts": {"a": 2, "b": 1}}
    assert (await api.rows(site))["pages"] == 2  # counting never creates pages


async def test_counts_refuse_more_than_100_pages(api: Api) -> None:
    site = await api.new_site()
    r = await api.http.post(
        f"/api/v1/sites/{site}/counts", json={"pages": [f"p{i}" for i in range(101)]}
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "too_many_pages"


async def test_events_after_seq_replay_in_order(api: Api) -> None:
    site = await api.new_site()
    for i in range(5):
        await api.post(site, "ev", f"c{i}")
    r = await api.http.get(f"/api/v1/sites/{site}/events", params={"page": "ev", "after": 2})
    body = r.json()
    assert [e["seq"] for e in body["events"]] == [3, 4, 5]
    assert [e["data"]["comment"]["body"] for e in body["events"]] == ["c2", "c3", "c4"]
    assert body["seq"] == 5 and body["has_more"] is False
    r = await api.http.get(
        f"/api/v1/sites/{site}/events", params={"page": "ev", "after": 0, "limit": 2}
    )
    assert [e["seq"] for e in r.json()["events"]] == [1, 2]
    assert r.json()["has_more"] is True


async def test_events_after_must_be_a_number(api: Api) -> None:
    site = await api.new_site()
    r = await api.http.get(f"/api/v1/sites/{site}/events", params={"page": "ev", "after": "x"})
    assert r.status_code == 422


async def test_allowed_origin_gets_cors_headers(api: Api) -> None:
    site = await api.new_site()
    r = await api.http.get(
        f"/api/v1/sites/{site}/thread", params={"page": "p"}, headers={"Origin": ORIGIN}
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in r.headers["vary"]


async def test_other_origin_is_refused_with_403_and_no_cors(api: Api) -> None:
    site = await api.new_site()
    before = await api.rows(site)
    r = await api.http.post(
        f"/api/v1/sites/{site}/comments",
        json={"page": "p", "body": "x"},
        headers={"Origin": "http://evil.test"},
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in r.headers
    assert "Origin" in r.headers["vary"]
    assert await api.rows(site) == before


async def test_other_origin_may_read_why_its_get_is_refused(api: Api) -> None:
    """The widget on a page the site does not list learns why (and logs the fix): the
    refusal of a plain GET is readable, and grants nothing else."""
    site = await api.new_site()
    r = await api.http.get(
        f"/api/v1/sites/{site}/thread", params={"page": "p"}, headers={"Origin": "http://evil.test"}
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "origin_not_allowed"
    assert r.headers["access-control-allow-origin"] == "http://evil.test"
    assert "Origin" in r.headers["vary"]
    assert "access-control-allow-credentials" not in r.headers
    assert "access-control-expose-headers" not in r.headers


async def test_unknown_site_is_readable_from_any_page_on_get_only(api: Api) -> None:
    r = await api.http.get(
        "/api/v1/sites/no-such-site/thread",
        params={"page": "p"},
        headers={"Origin": "http://evil.test"},
    )
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "unknown_site"
    assert r.headers["access-control-allow-origin"] == "http://evil.test"
    r = await api.http.post(
        "/api/v1/sites/no-such-site/comments",
        json={"page": "p", "body": "x"},
        headers={"Origin": "http://evil.test"},
    )
    assert r.status_code == 404
    assert "access-control-allow-origin" not in r.headers


async def test_preflight_from_allowed_origin(api: Api) -> None:
    site = await api.new_site()
    r = await api.http.options(
        f"/api/v1/sites/{site}/comments",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, authorization",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "Authorization" in r.headers["access-control-allow-headers"]


async def test_preflight_from_other_origin_is_refused(api: Api) -> None:
    site = await api.new_site()
    r = await api.http.options(
        f"/api/v1/sites/{site}/comments",
        headers={"Origin": "https://evil.test", "Access-Control-Request-Method": "POST"},
    )
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers


async def test_origin_of_one_site_cannot_use_another(api: Api) -> None:
    site_a = await api.new_site(origins=("https://a.test",))
    site_b = await api.new_site(origins=("https://b.test",))
    r = await api.http.get(
        f"/api/v1/sites/{site_b}/thread", params={"page": "p"}, headers={"Origin": "https://a.test"}
    )
    assert r.status_code == 403
    r = await api.http.get(
        f"/api/v1/sites/{site_a}/thread", params={"page": "p"}, headers={"Origin": "https://a.test"}
    )
    assert r.status_code == 200


async def test_unknown_api_route_is_json_404(api: Api) -> None:
    r = await api.http.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    r = await api.http.put("/api/v1/sites/x/comments")
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"
