"""A typed test client for the JSON API, over ASGI in-process or a real uvicorn."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from server.core.context import Services, command_services
from server.core.fanout import fan_out
from server.core.sites import add_site
from server.store.database import SqlStore
from server.store.schema import comments, events, pages
from tests.support.config import SECRET

_sites = itertools.count(1)
ORIGIN = "http://blog.test:8080"


class Clock:
    """Real time plus an offset a test may move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


async def fanned_out(
    store: SqlStore, clock: Callable[[], float] = time.time, services: Services | None = None
) -> None:
    """Run the fan-out from here until every page's events are read (a server's own may
    hold a page a moment: it is waited for). ``services``: an in-process app's, for its
    limits (the digest window) and doorbells."""
    services = services or command_services(store, SECRET, clock=clock)
    for _ in range(500):
        await fan_out(services)
        async with store.read() as tx:
            left = await tx.lagging_pages(1)
        if not left:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("pages stayed unread by the fan-out")


@dataclass
class Api:
    http: httpx.AsyncClient
    store: SqlStore
    transport: str
    clock: Clock | None = None

    async def fanned_out(self) -> None:
        """Until every published comment has been told to readers (core.fanout, which a
        server runs a moment after each post): what a test reads next is there."""
        await fanned_out(self.store, self.clock or time.time)

    async def new_site(
        self, *, moderation: str = "none", origins: tuple[str, ...] = (ORIGIN,)
    ) -> str:
        site_id = f"s{next(_sites)}-{int(time.time() * 1000) % 100000}"
        await add_site(
            command_services(self.store, SECRET), site_id, origins=origins, mode=moderation
        )
        return site_id

    async def post(
        self,
        site: str,
        page: str = "p",
        body: str = "Hello",
        *,
        token: str | None = None,
        expect: int | None = 201,
        **extra: Any,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers.update(extra.pop("headers", {}))
        r = await self.http.post(
            f"/api/v1/sites/{site}/comments",
            json={"page": page, "body": body, **extra},
            headers=headers,
        )
        if expect is not None:
            assert r.status_code == expect, r.text
        data: dict[str, Any] = r.json()
        return data

    async def thread(self, site: str, page: str = "p", **params: str) -> dict[str, Any]:
        r = await self.http.get(f"/api/v1/sites/{site}/thread", params={"page": page, **params})
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data

    async def rows(self, site: str) -> dict[str, int]:
        """Rows the site owns in every table a write touches: proof nothing was written."""
        async with self.store.read() as tx:
            conn = tx.conn
            page_ids = select(pages.c.id).where(pages.c.site_id == site)
            return {
                "pages": (
                    await conn.execute(
                        select(func.count()).select_from(pages).where(pages.c.site_id == site)
                    )
                ).scalar_one(),
                "comments": (
                    await conn.execute(
                        select(func.count()).select_from(comments).where(comments.c.site_id == site)
                    )
                ).scalar_one(),
                "events": (
                    await conn.execute(
                        select(func.count())
                        .select_from(events)
                        .where(events.c.page_id.in_(page_ids))
                    )
                ).scalar_one(),
            }
