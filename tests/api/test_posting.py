"""Posting comments and replies, and refusing bad input without writing anything."""

from __future__ import annotations

from typing import Any

import pytest

from server.core.context import command_services
from tests.support.api import Api
from tests.support.config import SECRET


async def test_post_returns_comment_status_and_author_token(api: Api) -> None:
    site = await api.new_site()
    data = await api.post(site, "article-1", "  Hello, world!  ", name=" Ann ")
    assert data["status"] == "approved"
    assert data["comment"]["body"] == "Hello, world!"
    assert data["comment"]["name"] == "Ann"
    assert data["comment"]["status"] == "approved"
    assert len(data["author_token"]) == 43
    assert data["page"] == {"key": "article-1", "seq": 1, "count": 1, "title": None, "url": None}


async def test_blank_name_is_stored_as_no_name(api: Api) -> None:
    site = await api.new_site()
    data = await api.post(site, body="anonymous", name="   ")
    assert data["comment"]["name"] is None


async def test_second_post_with_token_gets_no_new_token(api: Api) -> None:
    site = await api.new_site()
    first = await api.post(site)
    second = await api.post(site, token=first["author_token"], body="again")
    assert "author_token" not in second


async def test_reply_attaches_to_its_parent(api: Api) -> None:
    site = await api.new_site()
    top = (await api.post(site, body="top"))["comment"]
    reply = (await api.post(site, body="reply", parent=top["id"]))["comment"]
    assert reply["parent"] == top["id"]
    thread = await api.thread(site)
    assert thread["page"]["count"] == 2
    assert [c["id"] for c in thread["comments"]] == [top["id"]]
    assert thread["comments"][0]["reply_count"] == 1
    assert [r["body"] for r in thread["comments"][0]["replies"]] == ["reply"]


async def test_reply_to_a_reply_attaches_to_the_top_level_ancestor(api: Api) -> None:
    site = await api.new_site()
    top = (await api.post(site, body="top"))["comment"]
    reply = (await api.post(site, body="reply", parent=top["id"]))["comment"]
    deeper = (await api.post(site, body="deeper", parent=reply["id"]))["comment"]
    assert deeper["parent"] == top["id"]
    assert deeper["reply_to"] == reply["id"]


async def test_idempotency_key_replays_the_original_post(api: Api) -> None:
    site = await api.new_site()
    headers = {"Idempotency-Key": "draft-0001-abcdef"}
    first = await api.post(site, headers=headers)
    again = await api.post(site, headers=headers, expect=200)
    assert again["comment"]["id"] == first["comment"]["id"]
    assert again["author_token"] == first["author_token"]
    assert (await api.rows(site))["comments"] == 1


async def test_a_known_idempotency_key_never_hands_out_the_authors_token(api: Api) -> None:
    site = await api.new_site()
    key = {"Idempotency-Key": "draft-0002-abcdef"}
    first = await api.post(site, body="the original", headers=key)
    # Another body under the same key, no credentials: not a retry, and no token.
    other = await api.post(site, body="something else", headers=key, expect=409)
    assert other["error"]["code"] == "idempotency_key_reused"
    assert "author_token" not in other
    elsewhere = await api.post(site, "other-page", body="the original", headers=key, expect=409)
    assert "author_token" not in elsewhere
    # The author themselves, with their token and another body: refused too.
    mine = await api.post(
        site, body="something else", headers=key, token=first["author_token"], expect=409
    )
    assert mine["error"]["code"] == "idempotency_key_reused"
    # The very same request again is the retry it claims to be.
    retry = await api.post(site, body="the original", headers=key, expect=200)
    assert retry["author_token"] == first["author_token"]
    assert (await api.rows(site))["comments"] == 1


async def test_idempotency_keys_of_imports_are_refused(api: Api) -> None:
    site = await api.new_site()
    # Imports key their rows "import:...": a reader who took such a key first could make an
    # import skip a real comment and hang its replies under the reader's own.
    refused = await api.post(
        site, headers={"Idempotency-Key": "import:disqus:7:0123abcd"}, expect=422
    )
    assert refused["error"]["code"] == "invalid_idempotency_key"
    assert (await api.rows(site))["comments"] == 0


BAD_BODIES: list[tuple[str, Any, int, str]] = [
    ("empty body", {"page": "p", "body": "   "}, 422, "body_empty"),
    ("body too long", {"page": "p", "body": "x" * 5001}, 422, "body_too_long"),
    ("control character", {"page": "p", "body": "bell\x07"}, 422, "body_control_character"),
    ("bidi override in body", {"page": "p", "body": "ok \u202etxet"}, 422, "body_bidi_control"),
    ("word joiner in body", {"page": "p", "body": "fr\u2060ee"}, 422, "body_invisible_character"),
    (
        "bidi isolate in name",
        {"page": "p", "body": "hi", "name": "\u2067Ann\u2069"},
        422,
        "name_bidi_control",
    ),
    (
        "zero-width space in name",
        {"page": "p", "body": "hi", "name": "An\u200bn"},
        422,
        "name_invisible_character",
    ),
    (
        "Hangul filler for a name",
        {"page": "p", "body": "hi", "name": "\u3164"},
        422,
        "name_blank_character",
    ),
    (
        "Khmer inherent vowel in name",
        {"page": "p", "body": "hi", "name": "Ann\u17b5"},
        422,
        "name_invisible_character",
    ),
    ("body not a string", {"page": "p", "body": 42}, 422, "invalid_body"),
    ("name too long", {"page": "p", "body": "hi", "name": "n" * 51}, 422, "name_too_long"),
    ("name not a string", {"page": "p", "body": "hi", "name": ["x"]}, 422, "invalid_name"),
    ("page missing", {"body": "hi"}, 422, "invalid_page"),
    ("page not a string", {"page": {"a": 1}, "body": "hi"}, 422, "invalid_page"),
    ("parent not an id", {"page": "p", "body": "hi", "parent": "1"}, 422, "invalid_parent"),
    ("parent is a bool", {"page": "p", "body": "hi", "parent": True}, 422, "invalid_parent"),
    ("unknown parent", {"page": "p", "body": "hi", "parent": 999999999}, 404, "unknown_parent"),
    ("unknown field", {"page": "p", "body": "hi", "admin": True}, 422, "unknown_field"),
    (
        "url off the site's origins",
        {"page": "p", "body": "hi", "url": "http://169.254.169.254/latest"},
        422,
        "url_not_allowed",
    ),
    (
        "backslash url read as another host",
        {"page": "p", "body": "hi", "url": "http://evil.test\\@blog.test:8080/"},
        422,
        "url_ambiguous",
    ),
    ("url not http", {"page": "p", "body": "hi", "url": "javascript:alert(1)"}, 422, "invalid_url"),
    ("array body", [1, 2], 422, "invalid_body_type"),
]


@pytest.mark.parametrize(
    ("case", "payload", "status", "code"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES]
)
async def test_bad_post_is_refused_and_writes_nothing(
    api: Api, case: str, payload: Any, status: int, code: str
) -> None:
    site = await api.new_site()
    before = await api.rows(site)
    r = await api.http.post(f"/api/v1/sites/{site}/comments", json=payload)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert set(r.json()["error"]) == {"code", "message"}
    assert await api.rows(site) == before


async def test_page_url_is_stored_as_browsers_serialise_it(api: Api) -> None:
    site = await api.new_site()
    data = await api.post(site, url="HTTP://Blog.Test:8080/a/../b?q=<x>#c")
    assert data["page"]["url"] == "http://blog.test:8080/b?q=%3Cx%3E#c"


async def test_malformed_json_is_400(api: Api) -> None:
    site = await api.new_site()
    r = await api.http.post(
        f"/api/v1/sites/{site}/comments",
        content=b'{"page": "p", "body":',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "malformed_json"
    assert await api.rows(site) == {"pages": 0, "comments": 0, "events": 0}


async def test_wrong_content_type_is_415(api: Api) -> None:
    site = await api.new_site()
    r = await api.http.post(
        f"/api/v1/sites/{site}/comments",
        content=b"page=p&body=hi",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415
    assert r.json()["error"]["code"] == "unsupported_media_type"


async def test_oversized_request_is_413_before_parsing(api: Api) -> None:
    site = await api.new_site()
    r = await api.http.post(
        f"/api/v1/sites/{site}/comments",
        content=b'{"page":"p","body":"' + b"x" * 70_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    assert await api.rows(site) == {"pages": 0, "comments": 0, "events": 0}


async def test_unknown_site_is_404(api: Api) -> None:
    r = await api.http.post("/api/v1/sites/no-such-site/comments", json={"page": "p", "body": "hi"})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "unknown_site"


async def test_parent_on_another_page_is_refused(api: Api) -> None:
    site = await api.new_site()
    other = (await api.post(site, "page-a", "on a"))["comment"]
    before = await api.rows(site)
    r = await api.http.post(
        f"/api/v1/sites/{site}/comments",
        json={"page": "page-b", "body": "hi", "parent": other["id"]},
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "parent_on_other_page"
    assert await api.rows(site) == before  # page-b was not created either


async def test_parent_on_another_site_is_unknown(api: Api) -> None:
    site, other_site = await api.new_site(), await api.new_site()
    other = (await api.post(other_site, "p", "elsewhere"))["comment"]
    before = await api.rows(site)
    r = await api.http.post(
        f"/api/v1/sites/{site}/comments", json={"page": "p", "body": "hi", "parent": other["id"]}
    )
    assert r.status_code == 404
    assert await api.rows(site) == before


async def test_malformed_author_token_is_401(api: Api) -> None:
    site = await api.new_site()
    r = await api.http.post(
        f"/api/v1/sites/{site}/comments",
        json={"page": "p", "body": "hi"},
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_token"
    assert await api.rows(site) == {"pages": 0, "comments": 0, "events": 0}


async def test_posting_is_rate_limited_per_client_network(
    databases: object, tmp_path: object
) -> None:
    import httpx

    from server.app import create_app
    from server.core.sites import add_site
    from server.store.database import SqlStore
    from tests.support.config import settings_for

    url = await databases.create("sqlite")  # type: ignore[attr-defined]
    store = SqlStore(url)
    await add_site(command_services(store, SECRET), "rl", origins=["http://blog.test"])
    app = create_app(settings_for(url, tmp_path, rate_limit=3))  # type: ignore[arg-type]
    async with app.router.lifespan_context(app):

        def client(ip: str) -> httpx.AsyncClient:
            return httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app, client=(ip, 1)), base_url="http://t"
            )

        async with (
            client("198.51.100.7") as one,
            client("198.51.100.99") as same_net,
            client("192.0.2.1") as other,
        ):
            statuses = [
                (
                    await one.post("/api/v1/sites/rl/comments", json={"page": "p", "body": f"b{i}"})
                ).status_code
                for i in range(3)
            ]
            assert statuses == [201, 201, 201]
            r = await same_net.post("/api/v1/sites/rl/comments", json={"page": "p", "body": "x"})
            assert r.status_code == 429
            assert r.json()["error"]["code"] == "rate_limited"
            assert 1 <= int(r.headers["retry-after"]) <= 60
            r = await other.post("/api/v1/sites/rl/comments", json={"page": "p", "body": "y"})
            assert r.status_code == 201
    await store.close()


async def test_replying_to_a_held_comment_answers_as_if_it_did_not_exist(api: Api) -> None:
    site = await api.new_site(moderation="all")
    held = (await api.post(site, body="waiting for review"))["comment"]["id"]
    to_held = await api.post(site, body="a reply", parent=held, expect=404)
    to_nothing = await api.post(site, body="a reply", parent=999999999, expect=404)
    assert to_held == to_nothing
    assert to_held["error"]["code"] == "unknown_parent"
