"""Real Chromium (Debian's, through Playwright) against a real server on another site."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright

from server.store.database import SqlStore
from tests.support import logcheck
from tests.support.browser import (
    CHROMIUM_ARGS,
    ROOT,
    Comments,
    Demo,
    HostSite,
    chromium_path,
    stop_group,
)
from tests.support.config import env_for
from tests.support.db import Databases
from tests.support.net import http_client
from tests.support.servers import ServerProcess
from tests.support.services import RedisServer, free_port, stop, unavailable, wait_port


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    exe = chromium_path()
    if exe is None:
        unavailable("Chromium (apt-get install chromium)")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        await b.close()


@pytest.fixture(scope="session")
def host_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostSite]:
    root = tmp_path_factory.mktemp("blog")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.static_host", str(port), str(root)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, proc=proc)
        yield HostSite(root, port)
    finally:
        stop(proc)


@pytest.fixture(scope="session")
async def comments(
    databases: Databases,
    redis_server: RedisServer,
    host_site: HostSite,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Comments]:
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


@pytest.fixture(scope="session")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Demo]:
    data = tmp_path_factory.mktemp("make-run-data")
    port = free_port()
    venv = Path(sys.prefix)
    # Only what a newcomer's shell would carry: none of the test session's settings.
    env = {
        "PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", "/root"),
        "THREADLINE_DATA_DIR": str(data),
    }
    log = logcheck.new_log("make-run") or data / "make-run.log"
    with log.open("ab") as out:
        # -o: the test's virtualenv is installed already; `make run` must not reinstall it.
        proc = subprocess.Popen(
            [
                "make",
                "--no-print-directory",
                "-o",
                f"{venv}/.installed-run",
                "run",
                f"VENV={venv}",
                f"PORT={port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    store = SqlStore(f"sqlite:///{data / 'threadline.db'}")
    try:
        wait_port(port, timeout=60, proc=proc)
        yield Demo(port, store)
    finally:
        stop_group(proc)
        await store.close()
