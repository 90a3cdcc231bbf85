"""Every refusal reaches the client through the one ``DomainError`` handler: JSON
``{"error": {"code", "message"}}`` for the API and for scripts, the error page for moderators,
with the status from the one table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.app import create_app
from server.core.context import command_services
from server.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    Malformed,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from server.core.moderators import add_moderator
from server.core.passwords import hasher
from server.http.statuses import BY_CLASS
from tests.support.api import Api
from tests.support.config import SECRET, settings_for
from tests.support.moderation import PASSWORD, Mod, client_for

JSON_ACCEPT = {"Accept": "application/json"}


def refusal(name: str) -> DomainError:
    if name == "RateLimited":
        return RateLimited("rate_limited", "too many; try again in 7s", 7)
    errors: dict[str, type[DomainError]] = {
        cls.__name__: cls
        for cls in (Malformed, Invalid, NotFound, Unauthorized, Forbidden, Conflict, Unavailable)
    }
    return errors[name](f"test_{name.lower()}", f"refused: {name} <b>")


@pytest.fixture
async def raising_app(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The real app (not started: nothing here touches the database) with one route under
    the API and one under /moderate that raise the error class named in the path."""

    async def raise_it(request: Request) -> Response:
        raise refusal(request.path_params["name"])

    app = create_app(settings_for(f"sqlite:///{tmp_path}/unused.db", tmp_path))
    app.router.routes[:0] = [
        Route("/api/v1/raise/{name}", raise_it, methods=["POST"]),
        Route("/moderate/raise/{name}", raise_it, methods=["POST"]),
    ]
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def assert_json_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"] == "application/json"
    body: dict[str, Any] = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body


def assert_error_page(r: httpx.Response, status: int, message: str) -> None:
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>" in r.text
    assert message in r.text, r.text[:1000]
    assert 'href="/moderate' in r.text  # the way back


@pytest.mark.parametrize("cls", BY_CLASS, ids=lambda cls: cls.__name__)
async def test_every_error_class_has_its_status_in_every_form(
    raising_app: httpx.AsyncClient, cls: type[DomainError]
) -> None:
    status, exc = BY_CLASS[cls], refusal(cls.__name__)
    api = await raising_app.post(f"/api/v1/raise/{cls.__name__}")
    assert_json_error(api, status, exc.code)
    script = await raising_app.post(f"/moderate/raise/{cls.__name__}", headers=JSON_ACCEPT)
    assert_json_error(script, status, exc.code)
    page = await raising_app.post(f"/moderate/raise/{cls.__name__}")
    assert_error_page(page, status, exc.message.replace("<", "&lt;").replace(">", "&gt;"))


async def test_a_rate_limit_says_when_to_retry_and_a_missing_credential_how_to_give_it(
    raising_app: httpx.AsyncClient,
) -> None:
    limited = await raising_app.post("/api/v1/raise/RateLimited")
    assert limited.headers["Retry-After"] == "7"
    unavailable = await raising_app.post("/api/v1/raise/Unavailable")
    assert unavailable.headers["Retry-After"] == "1"
    unauthorized = await raising_app.post("/api/v1/raise/Unauthorized")
    assert unauthorized.headers["WWW-Authenticate"] == 'Bearer realm="threadline"'


# -- one real bad input per code, through the API ------------------------------------------


async def test_api_refusals_answer_the_one_json_shape(asgi_api: Api) -> None:
    site = await asgi_api.new_site()
    http, comments = asgi_api.http, f"/api/v1/sites/{site}/comments"
    posted = await asgi_api.post(site)
    one = f"{comments}/{posted['comment']['id']}"
    cases: list[tuple[httpx.Response, int, str]] = [
        (
            await http.post(comments, content=b"{", headers={"Content-Type": "application/json"}),
            400,
            "malformed_json",
        ),
        (
            await http.post(comments, content=b"hi", headers={"Content-Type": "text/plain"}),
            415,
            "unsupported_media_type",
        ),
        (
            await http.delete(one, headers={"Authorization": "Basic eDp4"}),
            401,
            "invalid_authorization",
        ),
        (await http.delete(one), 401, "token_required"),
        (await http.get(f"/api/v1/sites/{site}/thread"), 422, "missing_page"),
        (await http.post(comments, json={"page": "p", "body": ""}), 422, "body_empty"),
        (
            await http.get("/api/v1/sites/nosuchsite/thread", params={"page": "p"}),
            404,
            "unknown_site",
        ),
        (
            await http.delete(one, headers={"Authorization": "Bearer " + "A" * 43}),
            403,
            "not_author",
        ),
        (
            await http.post(
                comments,
                json={"page": "p", "body": "Hello"},
                headers={"Authorization": f"Bearer {posted['author_token']}"},
            ),
            409,
            "duplicate_comment",
        ),
    ]
    for response, status, code in cases:
        assert_json_error(response, status, code)


# -- one real bad input per code, through the moderation pages ------------------------------


@pytest.fixture
async def moderator(asgi_api: Api) -> AsyncIterator[tuple[Mod, str, str]]:
    """A logged-in moderator (not owner) of one site, and another site they do not moderate."""
    mine, theirs = await asgi_api.new_site(moderation="all"), await asgi_api.new_site()
    email = f"errors-{mine}@example.com"
    await add_moderator(
        command_services(asgi_api.store, SECRET), hasher("test"), email, mine, password=PASSWORD
    )
    async with client_for(asgi_api) as http:
        mod = Mod(http, email)
        assert (await mod.login()).status_code == 303
        yield mod, mine, theirs


async def test_moderation_refusals_answer_a_page_or_json_with_one_status(
    asgi_api: Api, moderator: tuple[Mod, str, str]
) -> None:
    mod, mine, theirs = moderator
    held = (await asgi_api.post(mine))["comment"]["id"]
    elsewhere = (await asgi_api.post(theirs))["comment"]["id"]
    await mod.act(held, "approve")
    posts: list[tuple[str, dict[str, str], int, str, str]] = [
        (f"/moderate/comments/{held}/frobnicate", {}, 422, "invalid_action", "unknown action"),
        (
            f"/moderate/comments/{elsewhere}/approve",
            {},
            403,
            "not_your_site",
            "you do not moderate the site of that comment",
        ),
        (f"/moderate/comments/{10**15}/approve", {}, 404, "comment_not_found", "no such comment"),
        (
            f"/moderate/comments/{held}/approve",
            {"expected": "pending"},
            409,
            "already_handled",
            "reload to see it",
        ),
        (
            f"/moderate/sites/{mine}",
            {"origins": "http://x.test"},
            403,
            "not_owner",
            "only the site&#39;s owners can change its settings",
        ),
        (
            f"/moderate/comments/{held}/ban",
            {"mode": "forever"},
            422,
            "invalid_ban_mode",
            "ban mode must be",
        ),
    ]
    for path, form, status, code, message in posts:
        data = {"csrf": mod.csrf, **form}
        script = await mod.http.post(path, data=data, headers=JSON_ACCEPT)
        assert_json_error(script, status, code)
        assert_error_page(await mod.http.post(path, data=data), status, message)
    gets = [
        (f"/moderate/comments/{elsewhere}", 404, "no such comment on your sites"),
        (f"/moderate?site={theirs}", 403, "you do not moderate that site"),
        (f"/moderate/sites/{mine}/export", 403, "only the site&#39;s owners"),
    ]
    for path, status, message in gets:
        assert_error_page(await mod.http.get(path), status, message)


async def test_a_refused_form_links_back_where_the_moderator_was(
    asgi_api: Api, moderator: tuple[Mod, str, str]
) -> None:
    mod, mine, _ = moderator
    held = (await asgi_api.post(mine))["comment"]["id"]
    back = f"/moderate?site={mine}&amp;tab=pending"
    r = await mod.http.post(
        f"/moderate/comments/{held}/frobnicate",
        data={"csrf": mod.csrf, "return_to": f"/moderate?site={mine}&tab=pending"},
    )
    assert r.status_code == 422
    assert f'href="{back}"' in r.text
