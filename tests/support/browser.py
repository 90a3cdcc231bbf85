"""Driving Chromium against real servers: the host site, seeded comments, the demo page."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import BrowserContext, Page

from server.core.authors import AuthorTokens
from server.core.comments import Draft, post_comment
from server.core.context import Limits, Services, command_services
from server.core.decisions import Action, decide_comment
from server.core.reactions import react
from server.core.sites import SiteDirectory, add_site
from server.store.database import SqlStore
from tests.support.config import SECRET
from tests.support.servers import ServerProcess
from tests.support.sso import claims, eddsa_key, enable_sso

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    # Real, different sites: the page on blog.test, Threadline on comments.test.
    "--host-resolver-rules=MAP *.test 127.0.0.1",
]


site_numbers = itertools.count(1)

DEMO_AVATAR_URL = "https://avatars.example/ada.svg"
# A portrait, drawn: what the avatar host answers (Playwright answers for it: no network).
DEMO_AVATAR_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 56 56"><rect width="56" height="56" '
    'fill="#93c5fd"/><path d="M8 56c2-13 10-19 20-19s18 6 20 19z" fill="#4338ca"/>'
    '<circle cx="28" cy="24" r="11" fill="#f2c6a0"/><path d="M16 25c-1-11 5-16 12-16s13 5 '
    '12 16c-2-5-6-8-12-8s-10 3-12 8z" fill="#5b3a29"/></svg>'
)


ROOT = Path(__file__).resolve().parents[2]


def chromium_path() -> str | None:
    for path in (
        os.environ.get("CHROMIUM_PATH"),
        "/usr/lib/chromium/chromium",
        shutil.which("chromium"),
        "/usr/bin/chromium",
    ):
        if path and os.path.exists(path):
            return path
    return None


@dataclass
class HostSite:
    """Static pages on http://blog.test:PORT that embed the widget from comments.test."""

    root: Path
    port: int

    @property
    def origin(self) -> str:
        return f"http://blog.test:{self.port}"

    def page(
        self, name: str, body: str, head: str = "", headers: dict[str, str] | None = None
    ) -> str:
        """Write a page; ``headers`` (a Content-Security-Policy, say) are sent with it."""
        sidecar = self.root / f"{name}.headers"
        if headers:
            sidecar.write_text("".join(f"{k}: {v}\n" for k, v in headers.items()))
        else:
            sidecar.unlink(missing_ok=True)
        (self.root / name).write_text(
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            "<meta name=viewport content='width=device-width, initial-scale=1'>"
            f"<title>{name}</title>{head}</head><body>{body}</body></html>"
        )
        return f"{self.origin}/{name}"


@dataclass
class Comments:
    """The Threadline server under test, as http://comments.test:PORT."""

    server: ServerProcess
    store: SqlStore
    host: HostSite
    http: httpx.AsyncClient

    @property
    def base(self) -> str:
        return f"http://comments.test:{self.server.port}"

    async def site(self, moderation: str = "none") -> str:
        site_id = f"b{next(site_numbers)}"
        await add_site(
            command_services(self.store, SECRET),
            site_id,
            origins=[self.host.origin],
            mode=moderation,
        )
        return site_id

    def embed(self, site: str, page: str, **data: str) -> str:
        attrs = "".join(f' data-{k}="{v}"' for k, v in data.items())
        return (
            f'<script src="{self.base}/widget.js" data-site="{site}" data-page="{page}"'
            f"{attrs} async></script>"
        )

    def article(
        self, site: str, page: str, name: str | None = None, *, head: str = "", **data: str
    ) -> str:
        body = (
            f"<article><h1>An article</h1><p>{'Words. ' * 40}</p></article>"
            f'<div id="threadline"></div>{self.embed(site, page, **data)}'
        )
        return self.host.page(name or f"{site}-{page}.html", body, head)

    async def post(self, site: str, page: str, body: str, **extra: Any) -> dict[str, Any]:
        r = await self.http.post(
            f"{self.server.url}/api/v1/sites/{site}/comments",
            json={"page": page, "body": body, **extra},
        )
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data


async def wait_for_policy(http: httpx.AsyncClient, server: str, site: str, policy: str) -> None:
    """Until the server (which caches sites for seconds) lists the site's threads with this
    sign-in policy."""
    deadline = time.monotonic() + 10
    while True:
        r = await http.get(f"{server}/api/v1/sites/{site}/thread", params={"page": "x"})
        if r.json()["config"]["sso"] == policy:
            return
        assert time.monotonic() < deadline, f"the server kept site {site}'s old policy"
        await asyncio.sleep(0.1)


async def signed_in_post(
    http: httpx.AsyncClient,
    server: str,
    site: str,
    token: str,
    page: str,
    body: str,
    parent: int | None = None,
) -> dict[str, Any]:
    """A comment written by a reader signed in with a site's token: the token exchanged for
    a session, the session sent as the widget sends it."""
    api = f"{server}/api/v1/sites/{site}"
    r = await http.post(f"{api}/sso/session", json={"token": token})
    assert r.status_code == 200, r.text
    r = await http.post(
        f"{api}/comments",
        json={"page": page, "body": body, "parent": parent},
        headers={"Authorization": f"Bearer {r.json()['session']}"},
    )
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def open_page(ctx: BrowserContext, url: str) -> Page:
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(url)
    return page


class Quiet:
    """Publisher/limiter for seeding through core from the test process: running servers
    pick the events up from the database (their sweeper) within seconds."""

    async def publish(self, events: Any) -> None:
        return None

    async def notify_author(self, *args: Any) -> None:
        return None

    async def reactions_changed(self, *args: Any) -> None:
        return None

    async def notifications_changed(self, *args: Any) -> None:
        return None

    async def hit(self, *args: Any) -> float:
        return 0.0

    async def peek(self, *args: Any) -> int:
        return 0

    async def reset(self, *args: Any) -> None:
        return None

    async def release(self, *args: Any) -> None:
        return None


async def seed_comment(
    store: SqlStore,
    site: str,
    page: str,
    body: str,
    *,
    ago: float = 0,
    moderator: bool = False,
    name: str | None = None,
    parent: int | None = None,
) -> int:
    """A comment created `ago` seconds in the past (or by a moderator), through core."""
    quiet = Quiet()
    svc = Services(
        store=store,
        publisher=quiet,
        limiter=quiet,
        tokens=AuthorTokens(SECRET),
        secret=SECRET,
        limits=Limits(rate_limit=0, min_submit_ms=0),
        clock=lambda: time.time() - ago,
    )
    s = await SiteDirectory(store).get(site)
    result = await post_comment(
        svc,
        s,
        Draft(page=page, body=body, name=name, parent=parent),
        token=None,
        client_ip="192.0.2.1",
        moderator=moderator,
        name_override=name,
    )
    return result.comment.id


@dataclass
class Demo:
    """`make run`, run as a newcomer runs it (a fresh data directory, the default settings):
    its demo page at http://127.0.0.1:PORT/ embeds the widget for the site `demo`."""

    port: int
    store: SqlStore
    seeded: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def conversation(self) -> None:
        """The demo thread as the README's screenshots show it (seeded once)."""
        if self.seeded:
            return
        self.seeded = True
        page = "demo-article"
        priya = await seed_comment(
            self.store,
            "demo",
            page,
            "Great write-up. The part about replaying events by seq finally made it click for me.",
            name="Priya",
            ago=3 * 3600,
        )
        first = await seed_comment(
            self.store,
            "demo",
            page,
            "Does this work behind a load balancer?",
            name="Marco",
            ago=2 * 3600,
        )
        answer = await seed_comment(
            self.store,
            "demo",
            page,
            "Yes: any process can serve any reader; no sticky sessions needed.",
            name="Threadline team",
            moderator=True,
            parent=first,
            ago=3600,
        )
        await seed_comment(
            self.store,
            "demo",
            page,
            "Even with websockets? Nice.",
            name="Chen",
            parent=answer,
            ago=600,
        )
        # A reader signed in with the site's own account: verified, with their picture
        # (served by the browser tests as DEMO_AVATAR_URL).
        # A public key: the demo server has a secret of its own, under which it could not
        # open an HS256 secret sealed here.
        key = eddsa_key()
        await enable_sso(self.store, "demo", key)
        server = f"http://127.0.0.1:{self.port}"
        async with httpx.AsyncClient() as http:
            await wait_for_policy(http, server, "demo", "sso-optional")
            posted = await signed_in_post(
                http,
                server,
                "demo",
                key.sign(claims("demo", "ada", "Ada Lovelace", avatar=DEMO_AVATAR_URL)),
                page,
                "Signed in with my account on the site: my name and picture came along.",
            )
        # Posted without the widget's form token, it waits for a moderator: approve it.
        if posted["status"] == "pending":
            quiet = Quiet()
            svc = Services(
                store=self.store,
                publisher=quiet,
                limiter=quiet,
                tokens=AuthorTokens(SECRET),
                secret=SECRET,
            )
            site = await SiteDirectory(self.store).get("demo")
            await decide_comment(svc, site, posted["comment"]["id"], Action.APPROVE, moderator=None)
        # Readers reacted, each from a network of their own, and a moderator pinned the
        # question the team answered.
        site = await SiteDirectory(self.store).get("demo")
        outside = command_services(self.store, SECRET)
        for comment_id, ups, downs in ((first, 12, 1), (answer, 8, 0), (priya, 5, 0)):
            for n in range(ups + downs):
                reader_network = f"198.{51 + comment_id % 100}.{n}.7"
                kind = "up" if n < ups else "down"
                await react(outside, site, comment_id, kind, token=None, client_ip=reader_network)
        async with self.store.write() as tx:
            await tx.update_comment(first, pinned_at=int(time.time() * 1000))


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group this fixture started (make, its shell, the server), as
    Ctrl-C would; SIGKILL whatever is left after 20 s."""
    with contextlib.suppress(ProcessLookupError):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            os.killpg(proc.pid, sig)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                proc.poll()
                os.killpg(proc.pid, 0)  # ProcessLookupError once every member is gone
                time.sleep(0.05)
