"""Moderation pages resist CSRF, session theft, cross-site actions and password guessing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.routing import Route

from server.app import create_app
from tests.support.api import Api
from tests.support.moderation import PASSWORD, Mod, client_for

# Posted before there is a session, each guarded by its own form token (tested with them).
PRE_SESSION = (
    "/moderate/login",
    "/moderate/join/{token}",
    "/moderate/join/{token}/decline",
    "/moderate/reset",
    "/moderate/reset/{token}",
)
ACTION_ROUTES = [
    r
    for r in create_app.__globals__["moderation_routes"]()
    if isinstance(r, Route) and "POST" in (r.methods or set()) and r.path not in PRE_SESSION
]


def concrete(path: str) -> str:
    return (
        path.replace("{comment_id:id}", "1")
        .replace("{action}", "approve")
        .replace("{site}", "x")
        .replace("{moderator_id:id}", "1")
        .replace("{ban_id:id}", "1")
        .replace("{invitation_id:id}", "1")
        .replace("{token}", "x" * 43)
    )


@pytest.mark.parametrize("route", ACTION_ROUTES, ids=lambda r: r.path)
async def test_actions_without_a_session_are_refused(api: Api, route: Route) -> None:
    async with client_for(api) as http:
        form = await http.post(concrete(route.path), data={"csrf": "x"})
        assert form.status_code == 303
        assert form.headers["location"] == "/moderate/login"
        js = await http.post(
            concrete(route.path), data={"csrf": "x"}, headers={"Accept": "application/json"}
        )
        assert js.status_code == 401
        assert js.json()["error"]["code"] == "login_required"


@pytest.mark.parametrize("path", ["/moderate", "/moderate/audit", "/moderate/sites/x"])
async def test_pages_without_a_session_redirect_to_login(api: Api, path: str) -> None:
    async with client_for(api) as http:
        r = await http.get(path)
        assert r.status_code == 303
        assert r.headers["location"].startswith("/moderate/login?next=")


@pytest.mark.parametrize("route", ACTION_ROUTES, ids=lambda r: r.path)
async def test_actions_without_a_valid_csrf_token_are_403(
    api: Api, make_mod: Any, route: Route
) -> None:
    site = await api.new_site()
    async with make_mod(site, owner=True) as mod:
        for data in ({}, {"csrf": "forged-token"}):
            r = await mod.http.post(concrete(route.path), data=data)
            assert r.status_code == 403, (route.path, r.text[:200])
            assert r.json()["error"]["code"] == "csrf_failed"


ID_ROUTES = [r for r in ACTION_ROUTES if ":id}" in r.path]


@pytest.mark.parametrize("route", ID_ROUTES, ids=lambda r: r.path)
@pytest.mark.parametrize("huge", [2**63, 2**64 + 7, 10**30])
async def test_ids_beyond_the_database_are_a_plain_404(
    api: Api, make_mod: Any, route: Route, huge: int, caplog: pytest.LogCaptureFixture
) -> None:
    site = await api.new_site()
    async with make_mod(site, owner=True) as mod:
        path = concrete(route.path).replace("/x/", f"/{site}/")
        path = re.sub(r"/1(/|$)", rf"/{huge}\1", path, count=1)
        r = await mod.http.post(
            path, data={"csrf": mod.csrf, "body": "x"}, headers={"Accept": "application/json"}
        )
        assert r.status_code == 404, (path, r.text[:200])
    assert not [rec for rec in caplog.records if rec.levelname == "ERROR"]


async def test_cross_origin_action_is_403_even_with_the_token(api: Api, make_mod: Any) -> None:
    site = await api.new_site(moderation="all")
    cid = (await api.post(site))["comment"]["id"]
    async with make_mod(site) as mod:
        r = await mod.http.post(
            f"/moderate/comments/{cid}/approve",
            data={"csrf": mod.csrf, "expected": "pending"},
            headers={"Origin": "https://evil.test"},
        )
        assert r.status_code == 403
        r = await mod.http.post(
            f"/moderate/comments/{cid}/approve",
            data={"csrf": mod.csrf, "expected": "pending"},
            headers={"Sec-Fetch-Site": "cross-site"},
        )
        assert r.status_code == 403
        ours = str(mod.http.base_url).rstrip("/")
        other_scheme = ours.replace("http://", "https://", 1)
        r = await mod.http.post(
            f"/moderate/comments/{cid}/approve",
            data={"csrf": mod.csrf, "expected": "pending"},
            headers={"Origin": other_scheme, "Accept": "application/json"},
        )
        assert r.status_code == 403  # same host, other scheme: another origin
        r = await mod.http.post(
            f"/moderate/comments/{cid}/approve",
            data={"csrf": mod.csrf, "expected": "pending"},
            headers={"Origin": ours, "Accept": "application/json"},
        )
        assert r.status_code == 200


async def test_moderator_of_one_site_cannot_touch_another(api: Api, make_mod: Any) -> None:
    mine, theirs = await api.new_site(moderation="all"), await api.new_site(moderation="all")
    cid = (await api.post(theirs))["comment"]["id"]
    async with make_mod(mine, owner=True) as mod:
        for action in ("approve", "reject", "spam", "delete", "edit", "reply", "ban"):
            r = await mod.act(cid, action, body="x")
            assert r.status_code == 403, action
        assert (await mod.http.get(f"/moderate/sites/{theirs}")).status_code == 403
        assert f"item-{cid}" not in await mod.queue()
        assert (await mod.http.get("/moderate", params={"site": theirs})).status_code == 403
    assert (await api.thread(theirs))["comments"] == []


async def test_login_throttling_locks_the_account_and_not_others(api: Api, make_mod: Any) -> None:
    site = await api.new_site()
    async with make_mod(site, login=False) as victim, make_mod(site, login=False) as other:
        for _ in range(5):
            assert (await victim.login("wrong password!")).status_code == 401
        r = await victim.login()  # the right password, too late
        assert r.status_code == 429
        assert "too many failed logins" in r.text
        assert int(r.headers["retry-after"]) > 0
        assert (await other.login()).status_code == 303


async def test_unknown_account_fails_like_a_wrong_password(api: Api) -> None:
    async with client_for(api) as http:
        mod = Mod(http, "nobody@example.com")
        r = await mod.login()
        assert r.status_code == 401
        assert "do not match" in r.text


async def test_session_cookie_is_httponly_samesite_strict_and_rotates(
    api: Api, make_mod: Any
) -> None:
    site = await api.new_site()
    async with make_mod(site, login=False) as mod:
        first = await mod.login()
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
        assert "Path=/" in cookie
        old = mod.http.cookies.get("tl_session")
        await mod.login()
        assert mod.http.cookies.get("tl_session") != old
        async with client_for(api) as replay:  # the old session ended with the new login
            replay.cookies.set("tl_session", old or "")
            assert (await replay.get("/moderate")).status_code == 303


async def test_logout_ends_the_session_on_the_server(api: Api, make_mod: Any) -> None:
    site = await api.new_site()
    async with make_mod(site) as mod:
        stolen = mod.http.cookies.get("tl_session")
        r = await mod.http.post("/moderate/logout", data={"csrf": mod.csrf})
        assert r.status_code == 303
        async with client_for(api) as thief:
            thief.cookies.set("tl_session", stolen or "")
            assert (await thief.get("/moderate")).status_code == 303


@pytest.mark.parametrize(
    "path", ["/moderate/login", "/moderate", "/moderate/audit", "/moderate/nope", "/"]
)
async def test_pages_forbid_framing_with_csp(api: Api, make_mod: Any, path: str) -> None:
    site = await api.new_site()
    async with make_mod(site) as mod:
        r = await mod.http.get(path)
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.test",
        "/\\evil.test",
        "https://evil.test",
        "javascript:alert(1)",
        "/moderate\r\nSet-Cookie: x=1",
    ],
)
async def test_login_never_redirects_off_site(api: Api, make_mod: Any, target: str) -> None:
    site = await api.new_site()
    async with make_mod(site, login=False) as mod:
        page = await mod.http.get("/moderate/login", params={"next": target})
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token is not None
        r = await mod.http.post(
            "/moderate/login",
            data={"email": mod.email, "password": PASSWORD, "csrf": token.group(1), "next": target},
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/moderate"


async def test_moderation_page_escapes_reader_text(api: Api, make_mod: Any) -> None:
    site = await api.new_site(moderation="all")
    await api.post(
        site, body="<script>alert(1)</script><img src=x onerror=alert(2)>", name="<b>bold</b>"
    )
    async with make_mod(site) as mod:
        html = await mod.queue()
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<b>bold</b>" not in html
        assert "onerror=alert(2)>" not in html
