"""Real Chromium (Debian's, through Playwright) against a real server on another site."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from server.core.sites import add_site
from server.store.database import SqlStore
from tests.conftest import env_for
from tests.support.db import Databases
from tests.support.net import http_client
from tests.support.servers import ServerProcess
from tests.support.services import RedisServer, free_port, stop, unavailable, wait_port

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage",
                 # Real, different sites: the page on blog.test, Threadline on comments.test.
                 "--host-resolver-rules=MAP *.test 127.0.0.1"]
_sites = itertools.count(1)


def chromium_path() -> str | None:
    for path in (os.environ.get("CHROMIUM_PATH"), "/usr/lib/chromium/chromium",
                 shutil.which("chromium"), "/usr/bin/chromium"):
        if path and os.path.exists(path):
            return path
    return None


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    exe = chromium_path()
    if exe is None:
        unavailable("Chromium (apt-get install chromium)")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        await b.close()


@dataclass
class HostSite:
    """Static pages on http://blog.test:PORT that embed the widget from comments.test."""

    root: Path
    port: int

    @property
    def origin(self) -> str:
        return f"http://blog.test:{self.port}"

    def page(self, name: str, body: str, head: str = "") -> str:
        (self.root / name).write_text(
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            "<meta name=viewport content='width=device-width, initial-scale=1'>"
            f"<title>{name}</title>{head}</head><body>{body}</body></html>")
        return f"{self.origin}/{name}"


@pytest.fixture(scope="session")
def host_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostSite]:
    root = tmp_path_factory.mktemp("blog")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                             "127.0.0.1", "-d", str(root)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc=proc)
        yield HostSite(root, port)
    finally:
        stop(proc)


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
        site_id = f"b{next(_sites)}"
        await add_site(self.store, site_id, origins=[self.host.origin], mode=moderation)
        return site_id

    def embed(self, site: str, page: str, **data: str) -> str:
        attrs = "".join(f' data-{k}="{v}"' for k, v in data.items())
        return (f'<script src="{self.base}/widget.js" data-site="{site}" data-page="{page}"'
                f"{attrs} async></script>")

    def article(self, site: str, page: str, name: str | None = None, *, head: str = "",
                **data: str) -> str:
        body = (f"<article><h1>An article</h1><p>{'Words. ' * 40}</p></article>"
                f'<div id="threadline"></div>{self.embed(site, page, **data)}')
        return self.host.page(name or f"{site}-{page}.html", body, head)

    async def post(self, site: str, page: str, body: str, **extra: Any) -> dict[str, Any]:
        r = await self.http.post(f"{self.server.url}/api/v1/sites/{site}/comments",
                                 json={"page": page, "body": body, **extra})
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data


@pytest.fixture(scope="session")
async def comments(databases: Databases, redis_server: RedisServer, host_site: HostSite,
                   tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Comments]:
    db_url = await databases.create("sqlite")
    data = tmp_path_factory.mktemp("browser-server")
    server = ServerProcess(env_for(db_url, data, THREADLINE_REDIS_URL=redis_server.url)).start()
    store = SqlStore(db_url)
    try:
        async with http_client(timeout=30) as http:
            yield Comments(server, store, host_site, http)
    finally:
        server.terminate()
        await store.close()


@pytest.fixture
async def new_context(browser: Browser) -> AsyncIterator[Callable[..., Any]]:
    """Separate browser profiles: separate storage, like two different readers."""
    contexts: list[BrowserContext] = []

    async def make(**kwargs: Any) -> BrowserContext:
        # English unless a test asks otherwise: the widget follows the browser's language.
        ctx = await browser.new_context(**{"locale": "en-US", **kwargs})
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        with contextlib.suppress(Exception):
            await ctx.close()


async def open_page(ctx: BrowserContext, url: str) -> Page:
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(url)
    return page
