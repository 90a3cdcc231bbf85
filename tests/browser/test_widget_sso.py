"""Single sign-on in the widget (issue #16), in real Chromium on a page of another site: a
reader signed in by the host page comments under their verified name and avatar, signs out,
claims what they wrote before; avatars load without a referrer; sso-only sites ask to log in."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, Request, Route, expect

from server.core.context import command_services
from server.core.sso_admin import set_sso
from tests.browser.test_moderation_live import moderator
from tests.support.browser import (
    Comments,
    open_page,
    seed_comment,
    signed_in_post,
    wait_for_policy,
)
from tests.support.config import SECRET
from tests.support.sso import SigningKey, claims, enable_sso, hs256_key

pytestmark = pytest.mark.e2e

AVATARS = "https://avatars.example/"
# A face, drawn: what the avatar host answers (Playwright answers for it: no network).
AVATAR_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 28 28"><rect width="28" height="28" '
    'fill="#f4b183"/><circle cx="10" cy="11" r="2" fill="#333"/><circle cx="18" cy="11" r="2" '
    'fill="#333"/><path d="M8 18q6 5 12 0" stroke="#333" stroke-width="2" fill="none"/></svg>'
)


@dataclass
class SsoSite:
    """A site that signs its readers in, and its backend's side: the tokens it signs."""

    comments: Comments
    id: str
    key: SigningKey = field(default_factory=lambda: hs256_key(secret=secrets.token_urlsafe(32)))

    def token(self, subject: str, name: str, avatar: str | None = None, **more: Any) -> str:
        extra = {} if avatar is None else {"avatar": avatar}
        return self.key.sign(claims(self.id, subject, name, **extra, **more))

    def page(self, page: str, *, name: str | None = None, **host: str) -> str:
        """An article whose widget host element carries ``host`` as data-* attributes."""
        attrs = "".join(f' data-{k.replace("_", "-")}="{v}"' for k, v in host.items())
        body = (
            "<article><h1>An article</h1><p>Words.</p></article>"
            f'<div id="threadline"{attrs}></div>{self.comments.embed(self.id, page)}'
        )
        return self.comments.host.page(
            name or f"{self.id}-{page}-{secrets.token_hex(4)}.html", body
        )

    async def policy(self, policy: str) -> None:
        await set_sso(command_services(self.comments.store, SECRET), self.id, policy=policy)
        await wait_for_policy(self.comments.http, self.comments.server.url, self.id, policy)

    async def post(self, token: str, page: str, body: str) -> dict[str, Any]:
        """A comment written by a signed-in reader, through the API."""
        return await signed_in_post(
            self.comments.http, self.comments.server.url, self.id, token, page, body
        )


async def sso_site(
    comments: Comments, policy: str = "sso-optional", moderation: str = "none", **more: Any
) -> SsoSite:
    site = SsoSite(comments, await comments.site(moderation))
    await enable_sso(comments.store, site.id, site.key, policy=policy, **more)
    return site


@dataclass
class AvatarHost:
    """https://avatars.example as Playwright serves it to one browser context: every request
    it gets, with all its headers."""

    requests: list[dict[str, str]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    async def serve(self, route: Route, request: Request) -> None:
        self.requests.append(await request.all_headers())
        self.urls.append(request.url)
        await route.fulfill(status=200, content_type="image/svg+xml", body=AVATAR_SVG)


async def reader(
    new_context: Callable[..., Awaitable[BrowserContext]], **kwargs: Any
) -> tuple[BrowserContext, AvatarHost]:
    ctx = await new_context(**kwargs)
    avatars = AvatarHost()
    await ctx.route(f"{AVATARS}**", avatars.serve)
    return ctx, avatars


def widget(page: Page) -> Any:
    return page.locator("#threadline")


async def test_signed_in_reader_posts_and_another_browser_sees_the_verified_name_and_avatar(
    comments: Comments, new_context: Any
) -> None:
    site = await sso_site(comments)
    ada = site.token("u-1", "Ada Lovelace", AVATARS + "ada.svg")
    a_ctx, a_avatars = await reader(new_context)
    b_ctx, b_avatars = await reader(new_context)
    a = await open_page(a_ctx, site.page("verified", sso_token=ada))
    b = await open_page(b_ctx, site.page("verified"))
    await expect(b.get_by_text("Active: 2")).to_be_visible()
    # Signed in: the reader's own picture, name and check, no name field.
    await expect(a.get_by_text("Posting as Ada Lovelace")).to_be_visible()
    await expect(a.locator("form .name-row").get_by_role("img", name="Verified")).to_be_visible()
    await expect(a.get_by_label("Name", exact=True)).to_have_count(0)
    await expect(b.get_by_label("Name", exact=True)).to_be_visible()  # B is not signed in
    await a.get_by_label("Comment").fill("Signed in and verified")
    await a.get_by_role("button", name="Submit").click()
    await expect(a.get_by_text("Thank you! Your submission has been received!")).to_be_visible()
    for page in (b, a):
        item = page.locator("li.comment", has_text="Signed in and verified")
        await expect(item.locator(".author")).to_have_text("Ada Lovelace")
        await expect(item.get_by_role("img", name="Verified")).to_be_visible()
        picture = item.locator("img.avatar")
        await expect(picture).to_have_attribute("src", AVATARS + "ada.svg")
        await expect(picture).to_have_attribute("referrerpolicy", "no-referrer")
        await expect(picture).to_have_attribute("loading", "lazy")
        await expect(picture).to_have_attribute("alt", "")
        await expect(picture).to_have_attribute("width", "28")
        await expect(picture).to_have_attribute("height", "28")
        assert await picture.evaluate("(image) => image.complete && image.naturalWidth > 0")
    assert b_avatars.urls and a_avatars.urls
    assert all("referer" not in headers for headers in a_avatars.requests + b_avatars.requests)
    assert a.errors == [] and b.errors == []  # type: ignore[attr-defined]


async def test_avatars_load_without_a_referrer(comments: Comments, new_context: Any) -> None:
    site = await sso_site(comments)
    for i in range(3):
        await site.post(
            site.token(f"u-{i}", f"Reader {i}", f"{AVATARS}r{i}.svg"), "refs", f"Hi {i}"
        )
    ctx, avatars = await reader(new_context)
    page = await open_page(ctx, site.page("refs"))
    await expect(widget(page).locator("img.avatar")).to_have_count(3)
    for i in range(3):
        await expect(page.locator(f'img[src="{AVATARS}r{i}.svg"]')).to_be_visible()
    assert sorted(avatars.urls) == [f"{AVATARS}r{i}.svg" for i in range(3)]
    # The page is http://blog.test: without no-referrer Chromium would name it to the host.
    for headers in avatars.requests:
        assert "referer" not in headers, headers


async def test_logout_returns_the_widget_to_anonymous_and_login_signs_in_again(
    comments: Comments, new_context: Any
) -> None:
    site = await sso_site(comments)
    grace = site.token("u-2", "Grace Hopper")
    ctx, _ = await reader(new_context)
    page = await open_page(ctx, site.page("logout", sso_token=grace, login_url="/login"))
    await expect(page.get_by_text("Posting as Grace Hopper")).to_be_visible()
    await expect(page.get_by_role("link", name="Log in")).to_have_count(0)
    await page.evaluate("Threadline.logout()")
    await expect(page.get_by_label("Name", exact=True)).to_be_visible()
    await expect(page.get_by_text("Posting as No Name")).to_be_visible()
    await expect(page.get_by_role("img", name="Verified")).to_have_count(0)
    login = page.get_by_role("link", name="Log in")
    await expect(login).to_have_attribute("href", f"{comments.host.origin}/login")
    # Signed out, the reader posts under the name they set, as on any site.
    await page.get_by_label("Name", exact=True).fill("Anonymous Grace")
    await page.get_by_role("button", name="Set").click()
    await page.get_by_label("Comment").fill("Written signed out")
    await page.get_by_role("button", name="Submit").click()
    item = page.locator("li.comment", has_text="Written signed out")
    await expect(item.locator(".author")).to_have_text("Anonymous Grace")
    await expect(item.get_by_role("img", name="Verified")).to_have_count(0)
    await page.evaluate("(token) => Threadline.login(token)", grace)
    await expect(page.get_by_text("Posting as Grace Hopper")).to_be_visible()
    await expect(page.get_by_label("Name", exact=True)).to_have_count(0)
    assert page.errors == []  # type: ignore[attr-defined]


async def test_every_widget_of_the_site_follows_login_and_logout_ends_the_session(
    comments: Comments, new_context: Any
) -> None:
    site = await sso_site(comments)
    body = (
        '<div id="one"></div><div id="two"></div>'
        + comments.embed(site.id, "first", target="#one")
        + comments.embed(site.id, "second", target="#two")
    )
    url = comments.host.page(f"{site.id}-two.html", body)
    ctx, _ = await reader(new_context)
    page = await ctx.new_page()
    sessions: list[str] = []

    async def answered(response: Any) -> None:
        if response.url.endswith("/sso/session") and response.request.method == "POST":
            sessions.append((await response.json())["session"])

    page.on("response", answered)
    await page.goto(url)
    one, two = page.locator("#one"), page.locator("#two")
    await expect(one.get_by_text("Posting as No Name")).to_be_visible()
    await expect(two.get_by_text("Posting as No Name")).to_be_visible()
    await page.evaluate("(token) => Threadline.login(token)", site.token("u-3", "Lin"))
    await expect(one.get_by_text("Posting as Lin")).to_be_visible()
    await expect(two.get_by_text("Posting as Lin")).to_be_visible()
    # One exchange per copy of the script (each script tag runs its own): a session never
    # sits where the page's other scripts could read it. The response handlers run as tasks
    # of their own: the second may still be reading its body when both names show.
    for _ in range(50):
        if len(sessions) >= 2:
            break
        await asyncio.sleep(0.1)
    assert len(sessions) == 2
    shared = await page.evaluate("JSON.stringify(Object.keys(window.Threadline))")
    assert "exchange" not in shared and "session" not in shared
    page_text = await page.evaluate("JSON.stringify(window.Threadline)")
    assert not any(session in page_text for session in sessions)
    await page.evaluate("Threadline.logout()")
    await expect(one.get_by_text("Posting as No Name")).to_be_visible()
    await expect(two.get_by_text("Posting as No Name")).to_be_visible()
    # Signed out on the server too: a copy of the session kept anywhere is worth nothing.
    for session in sessions:
        for _ in range(50):
            r = await comments.http.get(
                f"{comments.server.url}/api/v1/sites/{site.id}/authors/me",
                headers={"Authorization": f"Bearer {session}"},
            )
            if r.status_code == 401:
                break
            await asyncio.sleep(0.1)
        assert r.status_code == 401 and r.json()["error"]["code"] == "session_expired"


async def test_a_token_for_one_site_goes_to_that_sites_widgets_only(
    comments: Comments, new_context: Any
) -> None:
    first, second = await sso_site(comments), await sso_site(comments)
    body = (
        '<div id="one"></div><div id="two"></div>'
        + comments.embed(first.id, "first", target="#one")
        + comments.embed(second.id, "second", target="#two")
    )
    url = comments.host.page(f"{first.id}-{second.id}.html", body)
    ctx, _ = await reader(new_context)
    page = await ctx.new_page()
    exchanged: list[str] = []
    page.on(
        "request",
        lambda r: exchanged.append(r.url) if r.url.endswith("/sso/session") else None,
    )
    await page.goto(url)
    one, two = page.locator("#one"), page.locator("#two")
    await expect(two.get_by_text("Posting as No Name")).to_be_visible()
    await page.evaluate("(token) => Threadline.login(token)", first.token("u-9", "Noor"))
    await expect(one.get_by_text("Posting as Noor")).to_be_visible()
    await expect(two.get_by_text("Posting as No Name")).to_be_visible()
    await expect(two.get_by_text("made for site")).to_have_count(0)
    assert exchanged and all(f"/sites/{first.id}/" in url for url in exchanged)


async def test_a_page_element_named_threadline_does_not_stop_the_widget(
    comments: Comments, new_context: Any
) -> None:
    site = await sso_site(comments)
    body = (
        '<form id="Threadline"><input name="listeners"><input name="login"></form>'
        '<div id="threadline"></div>' + comments.embed(site.id, "clobbered")
    )
    url = comments.host.page(f"{site.id}-clobbered.html", body)
    ctx, _ = await reader(new_context)
    page = await ctx.new_page()
    await page.goto(url)
    await expect(page.get_by_text("Posting as No Name")).to_be_visible()
    await page.evaluate("(token) => Threadline.login(token)", site.token("u-4", "Ivo"))
    await expect(page.get_by_text("Posting as Ivo")).to_be_visible()


async def test_claiming_earlier_comments_shows_them_under_the_identity_in_both_browsers(
    comments: Comments, new_context: Any
) -> None:
    site = await sso_site(comments)
    a_ctx, _ = await reader(new_context)
    b_ctx, _ = await reader(new_context)
    url = site.page("claim")
    a = await open_page(a_ctx, url)
    b = await open_page(b_ctx, url)
    await expect(b.get_by_text("Active: 2")).to_be_visible()
    await a.get_by_label("Name", exact=True).fill("Quiet Reader")
    await a.get_by_role("button", name="Set").click()
    for body in ("Written before signing in", "And another"):
        await a.get_by_label("Comment").fill(body)
        await a.get_by_role("button", name="Submit").click()
        await expect(b.get_by_text(body)).to_be_visible()
    await a.evaluate(
        "(token) => Threadline.login(token)", site.token("u-4", "Kim Ode", AVATARS + "kim.svg")
    )
    offer = a.get_by_text(
        "You wrote 2 comments on this browser before signing in. Show them under your name?"
    )
    await expect(offer).to_be_visible()
    await a.get_by_role("button", name="Attach them").click()
    await expect(a.get_by_role("status")).to_have_text("2 comments now show under your name.")
    await expect(offer).to_be_hidden()
    for page in (a, b):
        for body in ("Written before signing in", "And another"):
            item = page.locator("li.comment", has_text=body)
            await expect(item.locator(".author")).to_have_text("Kim Ode")
            await expect(item.get_by_role("img", name="Verified")).to_be_visible()
            await expect(item.locator("img.avatar")).to_have_attribute("src", AVATARS + "kim.svg")
    # A reload lists them the same way, and nothing is left to claim.
    await b.reload()
    item = b.locator("li.comment", has_text="And another")
    await expect(item.locator(".author")).to_have_text("Kim Ode")
    await a.reload()
    await expect(a.get_by_text("Posting as Quiet Reader")).to_be_visible()  # the script is there
    await a.evaluate("(token) => Threadline.login(token)", site.token("u-4", "Kim Ode"))
    await expect(a.get_by_text("Posting as Kim Ode")).to_be_visible()
    await expect(a.get_by_role("button", name=re.compile("^Attach"))).to_have_count(0)


ANONYMOUS_NAMES = ["Priya Raman", "marco", "Chen", "Priya Raman"]


@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_generated_avatars_follow_the_theme(
    comments: Comments, new_context: Any, theme: str
) -> None:
    site = await comments.site()
    for i, name in enumerate(ANONYMOUS_NAMES):
        await seed_comment(comments.store, site, "faces", f"Comment {i}", name=name, ago=60 * i)
    await seed_comment(comments.store, site, "faces", "Nameless", ago=600)
    url = comments.article(site, "faces", f"faces-{theme}.html", theme=theme)
    page = await open_page(await new_context(color_scheme="light"), url)
    drawn = widget(page).locator("li.comment span.avatar")
    await expect(drawn).to_have_count(5)
    faces = await drawn.evaluate_all(
        """(all) => all.map((face) => { const style = getComputedStyle(face); return {
             text: face.dataset.initials, drawn: getComputedStyle(face, "::before").content,
             hidden: face.getAttribute("aria-hidden"),
             background: style.backgroundColor, color: style.color, width: face.offsetWidth,
             height: face.offsetHeight }; })"""
    )
    assert [f["text"] for f in faces] == ["PR", "M", "C", "PR", "NN"]
    assert [f["drawn"] for f in faces] == ['"PR"', '"M"', '"C"', '"PR"', '"NN"']
    assert all(f["hidden"] == "true" and f["width"] == f["height"] == 28 for f in faces)
    backgrounds = [f["background"] for f in faces]
    assert backgrounds[0] == backgrounds[3]  # the same name, the same colour
    assert len({backgrounds[0], backgrounds[1], backgrounds[2]}) == 3
    lightness = [_lightness(b) for b in backgrounds]
    if theme == "light":  # dark discs with white initials on a light page
        assert all(f["color"] == "rgb(255, 255, 255)" for f in faces)
        assert all(value < 0.5 for value in lightness)
    else:  # light discs with dark initials on a dark page
        assert all(f["color"] == "rgb(17, 24, 39)" for f in faces)
        assert all(value > 0.5 for value in lightness)
    assert page.errors == []  # type: ignore[attr-defined]


def _lightness(rgb: str) -> float:
    red, green, blue = (int(n) / 255 for n in re.findall(r"\d+", rgb)[:3])
    return (max(red, green, blue) + min(red, green, blue)) / 2


async def test_sso_only_site_shows_signed_out_readers_the_log_in_prompt_and_no_form(
    comments: Comments, new_context: Any
) -> None:
    site = await sso_site(comments, "sso-only")
    await site.post(site.token("u-5", "Member"), "only", "Members only here")
    ctx, _ = await reader(new_context)
    page = await open_page(ctx, site.page("only", login_url="https://blog.example/login"))
    await expect(page.get_by_text("Members only here")).to_be_visible()
    await expect(widget(page).get_by_text("Log in to comment.")).to_be_visible()
    await expect(page.get_by_role("link", name="Log in")).to_have_attribute(
        "href", "https://blog.example/login"
    )
    await expect(widget(page).locator("form")).to_be_hidden()
    await expect(page.get_by_label("Comment")).to_be_hidden()
    await expect(page.get_by_role("button", name="Submit")).to_be_hidden()
    await expect(page.get_by_label("Name", exact=True)).to_be_hidden()
    # Signed in, the reader gets the form.
    await page.evaluate("(token) => Threadline.login(token)", site.token("u-6", "Joined"))
    await expect(page.get_by_text("Posting as Joined")).to_be_visible()
    await expect(widget(page).get_by_text("Log in to comment.")).to_be_hidden()
    await page.get_by_label("Comment").fill("Now I can")
    await page.get_by_role("button", name="Submit").click()
    await expect(page.locator("li.comment", has_text="Now I can").locator(".author")).to_have_text(
        "Joined"
    )


async def test_a_site_turned_sso_only_meanwhile_asks_to_log_in_on_posting(
    comments: Comments, new_context: Any
) -> None:
    site = await sso_site(comments)
    ctx, _ = await reader(new_context)
    page = await open_page(ctx, site.page("turned", login_url="/login"))
    await expect(page.get_by_text("Posting as No Name")).to_be_visible()
    await site.policy("sso-only")
    await page.get_by_label("Comment").fill("Too late")
    await page.get_by_role("button", name="Submit").click()
    await expect(page.get_by_role("status")).to_have_text("Log in to comment.")
    await expect(page.get_by_role("link", name="Log in")).to_be_visible()
    await expect(page.get_by_label("Comment")).to_be_hidden()


async def test_a_name_reserved_by_a_verified_reader_is_refused_in_the_readers_language(
    comments: Comments, new_context: Any
) -> None:
    site = await sso_site(comments)
    await site.post(site.token("u-7", "Verity"), "reserved", "The real Verity")
    ctx, _ = await reader(new_context)
    page = await open_page(ctx, site.page("reserved"))
    await page.get_by_label("Name", exact=True).fill("Verity")
    await page.get_by_role("button", name="Set").click()
    await page.get_by_label("Comment").fill("Pretending")
    await page.get_by_role("button", name="Submit").click()
    await expect(page.get_by_role("status")).to_have_text(
        "That name belongs to a verified reader or a moderator: choose another."
    )
    await expect(page.get_by_label("Comment")).to_have_value("Pretending")


async def test_a_refused_token_says_why_and_leaves_the_widget_usable_anonymously(
    comments: Comments, new_context: Any
) -> None:
    site = await sso_site(comments)
    long_ago = int(time.time()) - 7200
    expired = site.token("u-8", "Late", iat=long_ago, exp=long_ago + 600)
    ctx, _ = await reader(new_context)
    page = await open_page(ctx, site.page("expired", sso_token=expired))
    await expect(page.get_by_role("status")).to_have_text("the sign-in token has expired")
    await expect(page.get_by_text("Posting as No Name")).to_be_visible()
    await page.get_by_label("Comment").fill("Still here")
    await page.get_by_role("button", name="Submit").click()
    await expect(page.locator("li.comment", has_text="Still here").locator(".author")).to_have_text(
        "No Name"
    )


async def test_an_ended_session_is_renewed_once_from_the_token(
    comments: Comments, new_context: Any
) -> None:
    site = await sso_site(comments)
    ctx, _ = await reader(new_context)
    page = await ctx.new_page()
    exchanges: list[str] = []
    page.on(
        "request", lambda r: exchanges.append(r.url) if r.url.endswith("/sso/session") else None
    )
    ended = {"once": False}

    async def end_first_session(route: Route, request: Request) -> None:
        if request.method == "POST" and not ended["once"]:
            ended["once"] = True
            await route.fulfill(
                status=401,
                json={"error": {"code": "session_expired", "message": "your session has ended"}},
                headers={"Access-Control-Allow-Origin": comments.host.origin},
            )
            return
        await route.continue_()

    await page.route(re.compile(r".*/comments$"), end_first_session)
    await page.goto(site.page("renew", sso_token=site.token("u-9", "Renée")))
    await expect(page.get_by_text("Posting as Renée")).to_be_visible()
    await page.get_by_label("Comment").fill("After a renewal")
    await page.get_by_role("button", name="Submit").click()
    item = page.locator("li.comment", has_text="After a renewal")
    await expect(item.locator(".author")).to_have_text("Renée")
    assert ended["once"] and len(exchanges) == 2


async def test_a_signed_in_readers_socket_hears_of_their_rejected_comment(
    comments: Comments, new_context: Any
) -> None:
    site = await sso_site(comments, moderation="all")
    ctx, _ = await reader(new_context)
    author = await open_page(ctx, site.page("rejected", sso_token=site.token("u-10", "Held")))
    await expect(author.get_by_text("Posting as Held")).to_be_visible()
    await expect(author.get_by_text("Active: 1")).to_be_visible()
    await author.get_by_label("Comment").fill("Signed in, yet not approved")
    await author.get_by_role("button", name="Submit").click()
    mine = author.locator("li.comment", has_text="Signed in, yet not approved")
    await expect(mine).to_be_visible()
    mod = await moderator(comments, new_context, site.id)
    item = mod.locator("li.item", has_text="Signed in, yet not approved")
    await item.get_by_role("button", name="Reject").click()
    await expect(mine).to_have_count(0)
    await expect(author.get_by_text("Your comment was not approved.")).to_be_visible()


async def test_a_reader_the_site_trusts_as_moderator_wears_the_badge_and_the_check(
    comments: Comments, new_context: Any
) -> None:
    site = await sso_site(comments, moderators=True)
    await site.post(site.token("u-11", "Editor", role="moderator"), "badge", "From the desk")
    await site.post(site.token("u-12", "Plain reader"), "badge", "From the crowd")
    ctx, _ = await reader(new_context)
    page = await open_page(ctx, site.page("badge"))
    desk = page.locator("li.comment", has_text="From the desk")
    await expect(desk.get_by_text("Moderator", exact=True)).to_be_visible()
    await expect(desk.get_by_role("img", name="Verified")).to_be_visible()
    await expect(desk.locator("span.avatar")).to_have_attribute("data-initials", "E")
    crowd = page.locator("li.comment", has_text="From the crowd")
    await expect(crowd.get_by_role("img", name="Verified")).to_be_visible()
    await expect(crowd.get_by_text("Moderator", exact=True)).to_have_count(0)


async def test_a_signed_in_reader_edits_deletes_and_flags_with_the_session(
    comments: Comments, new_context: Any
) -> None:
    site = await sso_site(comments)
    await comments.post(site.id, "own", "Someone else's", name="Other")
    ctx, _ = await reader(new_context)
    page = await open_page(ctx, site.page("own", sso_token=site.token("u-13", "Editor")))
    page.on("dialog", lambda d: asyncio.ensure_future(d.accept()))
    sent: list[str | None] = []
    page.on(
        "request",
        lambda r: sent.append(r.headers.get("authorization")) if r.method != "GET" else None,
    )
    await expect(page.get_by_text("Posting as Editor")).to_be_visible()
    await page.get_by_label("Comment").fill("Tpyo by a verified reader")
    await page.get_by_role("button", name="Submit").click()
    mine = page.locator("li.comment", has_text="by a verified reader")
    await mine.get_by_role("button", name="Edit").click()
    await page.get_by_role("textbox", name="Edit").fill("Typo fixed by a verified reader")
    await page.get_by_role("button", name="Save").click()
    await expect(mine.get_by_text("(Edited)")).to_be_visible()
    await expect(mine.get_by_role("img", name="Verified")).to_be_visible()
    other = page.locator("li.comment", has_text="Someone else's")
    await other.get_by_role("button", name="Flag").click()
    await expect(other.get_by_text("Flagged", exact=True)).to_be_visible()
    await mine.get_by_role("button", name="Delete").click()
    await expect(mine).to_have_count(0)
    writes = [header for header in sent if header is not None]
    assert len(writes) == 4  # post, edit, flag, delete: each with the session, a JWT
    assert all(re.fullmatch(r"Bearer [\w-]+\.[\w-]+\.[\w-]+", header) for header in writes)


async def test_a_page_global_named_threadline_does_not_stop_the_widget(
    comments: Comments, new_context: Any
) -> None:
    site = await sso_site(comments)
    body = (
        "<script>window.Threadline = {version: 1};</script>"
        + '<div id="threadline"></div>'
        + comments.embed(site.id, "global")
    )
    ctx, _ = await reader(new_context)
    page = await open_page(ctx, comments.host.page(f"{site.id}-global.html", body))
    await expect(page.get_by_text("Posting as No Name")).to_be_visible()
    await page.evaluate("(token) => Threadline.login(token)", site.token("u-14", "Global"))
    await expect(page.get_by_text("Posting as Global")).to_be_visible()
    assert page.errors == []  # type: ignore[attr-defined]
