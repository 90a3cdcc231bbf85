"""An axe-core audit (axe-playwright-python, in real Chromium) of the widget in every state and
of every moderation page: no serious or critical violation anywhere.

Nothing is allowed through by a list of known failures: any new serious or critical violation
fails the test, named with its rule, impact, element and the rule's help. axe-core audits the
widget's open shadow root like the rest of the page."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from axe_playwright_python.async_playwright import Axe  # type: ignore[import-untyped]
from playwright.async_api import Page, Route, expect

from server.core import invitations, resets
from server.core.context import command_services
from server.core.decisions import Action, decide_comment
from server.core.flags import flag_comment
from server.core.moderators import add_moderator
from server.core.passwords import hasher
from server.core.sites import SiteDirectory, add_site
from server.store.database import SqlStore
from tests.browser.test_widget_sso import AVATARS, reader, sso_site
from tests.support.browser import Comments, open_page, seed_comment
from tests.support.config import SECRET, env_for
from tests.support.db import Databases
from tests.support.servers import ServerProcess
from tests.support.services import free_port
from tests.test_notify import Mailbox

pytestmark = pytest.mark.e2e

AXE = Axe()
FAILING = ("serious", "critical")
PASSWORD = "a long moderator password"
# A dark host page for the dark theme: its background is the page's (the widget's is
# transparent there), so contrast is measured against what a reader really sees.
DARK_PAGE = "<style>html,body{background:#0f172a;color:#e5e7eb}</style>"
# A phone 375 px wide, touch first (the widget's 44 px targets apply).
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}


async def settled(page: Page) -> None:
    """No animation running (a comment fades in): contrast is measured on the final look."""
    await page.wait_for_function(
        """() => [document, ...[...document.querySelectorAll("*")].flatMap(
            (host) => (host.shadowRoot ? [host.shadowRoot] : []))]
          .every((root) => root.getAnimations().every((a) => a.playState !== "running"))"""
    )


async def audit(page: Page, state: str) -> None:
    """axe-core over the whole page, the widget's shadow root included; fails on any serious
    or critical violation, each listed with what to fix."""
    await settled(page)
    results = await AXE.run(page)
    failing = [v for v in results.response["violations"] if v["impact"] in FAILING]
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} [{v['helpUrl']}]\n"
        + "\n".join(
            f"    {' > '.join(map(str, node['target']))}: {node.get('failureSummary', '')}"
            for node in v["nodes"]
        )
        for v in failing
    )
    assert not failing, f"{state}: {len(failing)} serious or critical violations\n{report}"


# The widget ---------------------------------------------------------------------------------


async def seed_thread(comments: Comments, site: str, page: str) -> None:
    """Everything a thread can show: more comments than a page (Load More Comments), replies
    beyond the first three (Load More Replies), a reply to a reply, a moderator's badge, an
    edited comment and a link in a body."""
    for i in range(21):
        await seed_comment(comments.store, site, page, f"Filler comment {i}", ago=3600 + i)
    top = await seed_comment(comments.store, site, page, "What about https://example.org?", ago=600)
    first = await seed_comment(
        comments.store, site, page, "The first reply", name="Ada", parent=top, ago=500
    )
    await seed_comment(
        comments.store,
        site,
        page,
        "Official answer",
        moderator=True,
        name="The team",
        parent=first,
        ago=400,
    )
    for i in range(3):
        await seed_comment(comments.store, site, page, f"Reply {i}", parent=top, ago=300 - i)
    posted = await comments.post(site, page, "Tpyo in here", name="Grace")
    api = f"{comments.server.url}/api/v1/sites/{site}/comments"
    r = await comments.http.patch(
        f"{api}/{posted['comment']['id']}",
        json={"body": "Typo fixed"},
        headers={"Authorization": f"Bearer {posted['author_token']}"},
    )
    assert r.status_code == 200, r.text
    # A deleted comment with a reply stays as a tombstone.
    gone = await comments.post(site, page, "Regretted", name="Ed")
    await seed_comment(comments.store, site, page, "Too late", parent=gone["comment"]["id"])
    r = await comments.http.delete(
        f"{api}/{gone['comment']['id']}",
        headers={"Authorization": f"Bearer {gone['author_token']}"},
    )
    assert r.status_code == 200, r.text


async def full_thread(page: Page) -> None:
    """The thread shown, with the reader's own comment (Edit, Delete, the You mark) and a
    reply form open."""
    await expect(page.get_by_text("Typo fixed")).to_be_visible()
    await expect(page.get_by_text("(Edited)")).to_be_visible()
    await expect(page.get_by_text("Moderator", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="Load More Comments")).to_be_visible()
    await expect(page.get_by_role("button", name="Load More Replies")).to_be_visible()
    await page.get_by_label("Comment").fill("Mine, this one")
    await page.get_by_role("button", name="Submit").click()
    await expect(page.get_by_text("Thank you! Your submission has been received!")).to_be_visible()
    own = page.locator("li.comment", has_text="Mine, this one")
    await own.get_by_role("button", name="Edit").click()
    await expect(page.get_by_role("textbox", name="Edit")).to_be_focused()
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    flagged = page.locator("ol.list > li.comment", has_text="What about")
    await flagged.get_by_role("button", name="Flag").first.click()
    await expect(flagged.get_by_role("button", name="Undo").first).to_be_visible()
    await (
        page.locator("li.comment", has_text="Typo fixed")
        .get_by_role("button", name="Reply")
        .click()
    )
    await expect(page.get_by_label("Reply to Grace")).to_be_focused()


async def news_below(comments: Comments, site: str, page: Page) -> None:
    """A comment arriving while the reader is further down: the N new comments button."""
    await expect(page.get_by_text("Active: 1")).to_be_visible()  # live
    await page.get_by_role("button", name="Load More Comments").scroll_into_view_if_needed()
    await comments.post(site, "a11y-thread", "Live news", name="Lin")
    await expect(page.get_by_role("button", name="1 new comment")).to_be_visible()


async def test_widget_loading_empty_and_failed_states(comments: Comments, new_context: Any) -> None:
    site = await comments.site()
    page = await (await new_context()).new_page()
    release = asyncio.Event()
    failing = True

    async def held(route: Route) -> None:
        await release.wait()
        if failing:
            await route.abort()
        else:
            await route.continue_()

    await page.route(re.compile(r".*/thread\?.*"), held)
    await page.goto(comments.article(site, "a11y-empty"))
    await expect(page.get_by_role("heading", name="Loading")).to_be_visible()
    await audit(page, "loading")
    release.set()  # this first answer fails: the error and its Retry button
    await expect(page.get_by_role("button", name="Retry")).to_be_visible()
    await audit(page, "load failed")
    failing = False
    # Retry, or the widget's own retry (2 s on) already did: either way the thread loads.
    await page.locator("#threadline").evaluate(
        "(host) => host.shadowRoot.querySelector('.status.error button').click()"
    )
    await expect(page.get_by_text("Be the first to leave a comment.")).to_be_visible()
    await audit(page, "empty")


@pytest.mark.parametrize(
    ("theme", "context"),
    [
        ("light", {}),
        ("dark", {}),
        ("auto", {"color_scheme": "dark"}),
        ("light", PHONE),
        ("dark", PHONE),
    ],
    ids=["light", "dark", "auto-dark", "375px", "375px-dark"],
)
async def test_widget_thread_composer_errors_and_pending(
    comments: Comments, new_context: Any, theme: str, context: dict[str, Any]
) -> None:
    site = await comments.site()
    await seed_thread(comments, site, "a11y-thread")
    dark = theme == "dark" or context.get("color_scheme") == "dark"
    url = comments.article(
        site,
        "a11y-thread",
        f"{site}-a11y-{theme}.html",
        head=DARK_PAGE if dark else "",
        theme=theme,
    )
    page = await open_page(await new_context(**context), url)
    await full_thread(page)
    await news_below(comments, site, page)
    await audit(page, f"thread ({theme})")

    await page.route(
        re.compile(r".*/comments$"),
        lambda route: route.fulfill(
            status=400,
            content_type="application/json",
            headers={"Access-Control-Allow-Origin": comments.host.origin},
            body='{"error":{"code":"invalid_body","message":"the comment is empty"}}',
        ),
    )
    await page.get_by_label("Reply to Grace").fill("   refused   ")
    await page.get_by_label("Reply to Grace").press("Control+Enter")
    await expect(page.get_by_role("status")).not_to_have_text(re.compile("Thank you"))
    await audit(page, f"composer with an error ({theme})")
    await page.unroute(re.compile(r".*/comments$"))

    held_site = await comments.site(moderation="all")
    url = comments.article(held_site, "a11y-held", head=DARK_PAGE if dark else "", theme=theme)
    page = await open_page(await new_context(**context), url)
    await page.get_by_label("Comment").fill("Held for a moderator")
    await page.get_by_role("button", name="Submit").click()
    pending = "Your comment will appear once approved by a moderator."
    await expect(page.locator("li.comment").get_by_text(pending)).to_be_visible()
    await audit(page, f"pending ({theme})")


def sso_page(site: Any, key: str, theme: str, **host: str) -> str:
    """A page of a site that signs its readers in, themed; ``host`` as data-* attributes."""
    attrs = "".join(f' data-{k.replace("_", "-")}="{v}"' for k, v in host.items())
    body = (
        "<main><article><h1>An article</h1><p>Words.</p></article>"
        f'<div id="threadline"{attrs}></div></main>'
        + site.comments.embed(site.id, key, theme=theme)
    )
    head = DARK_PAGE if theme == "dark" else ""
    return str(site.comments.host.page(f"{site.id}-{key}-{theme}.html", body, head))


@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_widget_single_sign_on_states(
    comments: Comments, new_context: Any, theme: str
) -> None:
    """A site that signs readers in: the log-in prompt of an sso-only site; a signed-in
    reader (picture, verified mark) offered to claim what they wrote before."""
    only = await sso_site(comments, "sso-only")
    await only.post(only.token("u-1", "Member", AVATARS + "m.svg"), "a11y-only", "Members only")
    ctx, _ = await reader(new_context)
    url = sso_page(only, "a11y-only", theme, login_url="https://blog.example/login")
    page = await open_page(ctx, url)
    await expect(page.get_by_text("Log in to comment.")).to_be_visible()
    await expect(page.get_by_role("img", name="Verified")).to_be_visible()
    await audit(page, f"sso-only: the log-in prompt ({theme})")

    site = await sso_site(comments)
    page = await open_page(ctx, sso_page(site, "a11y-claim", theme))
    await page.get_by_label("Comment").fill("Written before signing in")
    await page.get_by_role("button", name="Submit").click()
    await expect(page.get_by_text("Thank you! Your submission has been received!")).to_be_visible()
    await page.evaluate(
        "(token) => Threadline.login(token)", site.token("u-2", "Kim Ode", AVATARS + "kim.svg")
    )
    await expect(page.get_by_role("button", name="Attach it")).to_be_visible()
    await audit(page, f"signed in, offered to claim ({theme})")
    await page.get_by_role("button", name="Attach it").click()
    await expect(page.get_by_role("status")).to_have_text("1 comment now shows under your name.")
    await audit(page, f"signed in, claimed ({theme})")


# The moderation pages ------------------------------------------------------------------------


class Moderation:
    """A server of its own that can send e-mail (for the password-reset and invitation
    pages), with an owner, a moderator and a queue in every state."""

    def __init__(self, server: ServerProcess, store: SqlStore) -> None:
        self.server = server
        self.store = store

    @property
    def base(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
async def moderation(
    databases: Databases, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Moderation]:
    db_url = await databases.create("sqlite")
    data: Path = tmp_path_factory.mktemp("a11y-moderation")
    mail_port = free_port()
    smtp = Controller(Mailbox(), hostname="127.0.0.1", port=mail_port)
    smtp.start()
    port = free_port()
    server = ServerProcess(
        env_for(
            db_url,
            data,
            THREADLINE_SMTP_URL=f"smtp://127.0.0.1:{mail_port}",
            THREADLINE_SMTP_FROM="comments@blog.test",
            THREADLINE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        ),
        port=port,
    ).start()
    store = SqlStore(db_url)
    try:
        yield Moderation(server, store)
    finally:
        server.terminate()
        smtp.stop()
        await store.close()


async def log_in(page: Page, base: str, email: str) -> None:
    await page.goto(f"{base}/moderate/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("link", name="Queue")).to_be_visible()


async def post(page: Page, path: str, fields: dict[str, str]) -> None:
    """A form posted as a page without script would post it: the answer is a whole page."""
    async with page.expect_navigation():
        await page.evaluate(
            """([path, fields]) => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = path;
                for (const [name, value] of Object.entries(fields)) {
                    const input = document.createElement("input");
                    input.type = "hidden";
                    input.name = name;
                    input.value = value;
                    form.append(input);
                }
                document.body.append(form);
                form.submit();
            }""",
            [path, fields],
        )


async def seed_queue(svc: Any, store: SqlStore, site: str) -> dict[str, int]:
    """A comment under every tab, with what items can show: a reply (its parent quoted),
    reader flags, a restorable deletion, an edit."""
    s = await SiteDirectory(store).get(site)
    ids: dict[str, int] = {}
    for name in ("approved", "flagged", "rejected", "spam", "deleted", "pending"):
        ids[name] = await seed_comment(store, site, "p", f"A comment to be {name}", name="Ada")
    for name, action in [
        ("approved", Action.APPROVE),
        ("flagged", Action.APPROVE),
        ("rejected", Action.REJECT),
        ("spam", Action.SPAM),
        ("deleted", Action.DELETE),
    ]:
        await decide_comment(svc, s, ids[name], action, moderator=None)
    ids["reply"] = await seed_comment(
        store, site, "p", "A reply, held", name="Bo", parent=ids["approved"]
    )
    for network in ("192.0.2.10", "192.0.2.11"):
        await flag_comment(svc, s, ids["flagged"], token=None, client_ip=network)
    return ids


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_every_moderation_page(moderation: Moderation, new_context: Any, scheme: str) -> None:
    """Every page under /moderate (server/moderation/routes.py), in the browser's light and
    dark colour schemes: login (and refused), password reset (asking, sent, choosing, a dead
    link), invitations (a new account, the invited moderator's own, a dead link), every queue
    tab with its items and their forms open, the in-place delete confirmation and the
    keyboard help, a comment's history, the script-less delete confirmation, the error page,
    the audit log, the account page, the site settings (moderators, invitations, bans, keys)
    and the one-time secret page."""
    base, store = moderation.base, moderation.store
    svc = command_services(store, SECRET)
    site, other_site = f"a11y{scheme}", f"a11y{scheme}2"
    for each in (site, other_site):
        await add_site(svc, each, origins=["http://blog.test"], mode="all")
    owner_email = f"owner-{scheme}@blog.test"
    owner, _ = await add_moderator(
        svc, hasher("test"), owner_email, site, password=PASSWORD, owner=True
    )
    await add_moderator(svc, hasher("test"), f"mod-{scheme}@blog.test", site, password=PASSWORD)
    ids = await seed_queue(svc, store, site)
    page = await (await new_context(color_scheme=scheme)).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    await page.goto(f"{base}/moderate/login")
    await audit(page, "login")
    await page.get_by_label("Email").fill(owner_email)
    await page.get_by_label("Password").fill("not the password at all")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await audit(page, "login refused")

    await page.goto(f"{base}/moderate/reset")
    await audit(page, "reset: asking for a link")
    await page.get_by_label("Email").fill(owner_email)
    await page.get_by_role("button", name="Send me a link").click()
    await expect(page.get_by_role("status")).to_be_visible()
    await audit(page, "reset: link sent")
    found = await resets.request_reset(svc, owner_email)
    assert found is not None
    await page.goto(f"{base}/moderate/reset/{found[1]}")
    await audit(page, "reset: choosing a password")
    await page.goto(f"{base}/moderate/reset/not-a-real-token-at-all")
    await audit(page, "reset: a link that no longer works")

    directory = SiteDirectory(store)
    _, token = await invitations.invite(
        svc, f"new-{scheme}@blog.test", await directory.get(site), owner=False, by=owner
    )
    await page.goto(f"{base}/moderate/join/{token}")
    await audit(page, "join: a new account")
    await page.goto(f"{base}/moderate/join/not-a-real-token-at-all")
    await audit(page, "join: a link that no longer works")

    await log_in(page, base, owner_email)
    other_owner, _ = await add_moderator(
        svc, hasher("test"), f"other-{scheme}@blog.test", other_site, password=PASSWORD, owner=True
    )
    _, own_token = await invitations.invite(
        svc, owner_email, await directory.get(other_site), owner=False, by=other_owner
    )
    await page.goto(f"{base}/moderate/join/{own_token}")
    await expect(page.get_by_role("button", name="Accept")).to_be_visible()
    await audit(page, "join: the invited moderator, logged in")

    for tab in ("pending", "flagged", "approved", "rejected", "spam", "deleted"):
        await page.goto(f"{base}/moderate?tab={tab}")
        await expect(page.locator("li.item").first).to_be_visible()
        await page.evaluate("document.querySelectorAll('details').forEach((d) => (d.open = true))")
        await audit(page, f"queue: {tab}, every item's forms open")
    await page.goto(f"{base}/moderate?tab=pending&q=nothing-matches-this")
    await expect(page.get_by_text("Nothing here.")).to_be_visible()
    await audit(page, "queue: nothing found")

    await page.goto(f"{base}/moderate?tab=approved")
    item = page.locator(f"#item-{ids['approved']}")
    await item.get_by_role("button", name="Delete").click()
    await expect(page.get_by_role("alertdialog")).to_be_visible()
    await audit(page, "queue: deleting, asked in place")
    await page.keyboard.press("Escape")
    await item.get_by_text("Reply, edit or ban").click()
    await item.get_by_role("button", name="Ban author").click()
    await expect(page.get_by_role("status").first).not_to_be_empty()
    await audit(page, "queue: an action's result")
    await page.locator("body").press("?")
    await expect(page.get_by_role("dialog")).to_be_visible()
    await audit(page, "queue: keyboard help")
    await page.keyboard.press("Escape")
    await page.get_by_role("checkbox", name=f"Select comment {ids['approved']}").check()
    await page.locator("#bulk").get_by_role("button", name="Reject").click()
    await expect(page.get_by_role("status").first).to_have_text("Done: 1; refused: 0.")
    await audit(page, "queue: a bulk action's result")

    await page.goto(f"{base}/moderate/comments/{ids['flagged']}")
    await audit(page, "a comment's history")
    csrf = await page.locator("meta[name=csrf-token]").get_attribute("content")
    assert csrf
    await post(
        page,
        f"/moderate/comments/{ids['flagged']}/delete",
        {"csrf": csrf, "expected": "approved"},
    )
    await expect(page.get_by_role("heading", name="Delete 1 comment?")).to_be_visible()
    await audit(page, "delete, confirmed on a page of its own")
    await post(
        page, f"/moderate/comments/{ids['rejected']}/approve", {"csrf": csrf, "expected": "spam"}
    )
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    await audit(page, "error page")

    await page.goto(f"{base}/moderate/audit")
    await expect(page.locator("table.audit tbody tr").first).to_be_visible()
    await audit(page, "audit log")
    await page.goto(f"{base}/moderate/account")
    await audit(page, "account")
    await page.goto(f"{base}/moderate/sites/{site}")
    await expect(page.get_by_role("button", name="Lift ban")).to_be_visible()
    await expect(page.get_by_role("button", name="Withdraw")).to_be_visible()
    await audit(page, "site settings")
    await page.get_by_label("Or let Threadline make an HS256 secret").fill("k1")
    await page.get_by_role("button", name="Generate a new secret").click()
    await expect(page.get_by_role("textbox", name="Secret")).not_to_be_empty()
    await audit(page, "a new single sign-on secret, shown once")
    await page.goto(f"{base}/moderate/sites/{site}")
    await expect(page.get_by_role("button", name="Remove key")).to_be_visible()
    await audit(page, "site settings with a signing key")
    assert errors == []
