"""Threadline as a system under test: the real app, plus /_bench/start, which posts comments
through core on a fixed schedule, so the measured path includes validation, the database
commit and the publish, exactly as a reader's POST would."""

from __future__ import annotations

import gc
import os
import sys
import time
from typing import Any
from urllib.parse import parse_qs

import orjson

from bench.sut.common import open_loop, spawn, start_params
from server.app import create_app
from server.core.comments import Draft, post_comment
from server.core.reactions import react
from server.settings import Settings

SITE = "bench"
_gc_began = 0.0


def _gc_pauses(phase: str, info: dict[str, int]) -> None:
    """Full collections long enough to show in a p99 go to the log, for the report."""
    global _gc_began
    if phase == "start":
        _gc_began = time.perf_counter()
    elif info["generation"] == 2:
        ms = (time.perf_counter() - _gc_began) * 1000
        if ms >= 10:
            print(
                f"[gc] generation 2 collection: {ms:.0f} ms, {info['collected']} collected",
                file=sys.stderr,
                flush=True,
            )


gc.callbacks.append(_gc_pauses)


class App:
    def __init__(self) -> None:
        self.real: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.real is None:
            self.real = create_app(Settings.from_env(os.environ))
        if scope["type"] == "http" and scope["path"] == "/_bench/start":
            await self.start(scope, send)
            return
        if scope["type"] == "http" and scope["path"] == "/_bench/pages":
            await self.pages(receive, send)
            return
        if scope["type"] == "http" and scope["path"] == "/_bench/comments":
            await self.comments(scope, send)
            return
        if scope["type"] == "http" and scope["path"] == "/_bench/react":
            await self.react(scope, send)
            return
        await self.real(scope, receive, send)

    async def start(self, scope: Any, send: Any) -> None:
        query = scope["query_string"].decode()
        rate, count, page, size = start_params(query)
        pages = int(parse_qs(query).get("pages", ["1"])[0])
        state = self.real.state.tl
        site = await state.sites.get(SITE)

        async def post(text: str, i: int) -> None:
            key = f"{page}{i % pages}" if pages > 1 else page
            await post_comment(
                state.services, site, Draft(page=key, body=text), token=None, client_ip="127.0.0.1"
            )

        spawn(open_loop(rate, count, size, post))
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b"started"})

    async def pages(self, receive: Any, send: Any) -> None:
        """Make the pages (a JSON list of keys) before their readers join: a page comes into
        being when its first reader subscribes, at most 60 a minute from one network
        (core/threads.py), and every generated reader comes from loopback."""
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        keys = orjson.loads(body)
        state = self.real.state.tl
        now = int(time.time() * 1000)
        async with state.services.store.write() as tx:
            for key in keys:
                await tx.ensure_page(SITE, str(key), None, None, now)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def comments(self, scope: Any, send: Any) -> None:
        """Post ``count`` comments on ``page`` now; answer their ids (the reaction burst's
        targets)."""
        query = parse_qs(scope["query_string"].decode())
        page, count = query["page"][0], int(query.get("count", ["10"])[0])
        state = self.real.state.tl
        site = await state.sites.get(SITE)
        ids = []
        for i in range(count):
            posted = await post_comment(
                state.services,
                site,
                Draft(page=page, body=f"comment {i} to react to"),
                token=None,
                client_ip="127.0.0.1",
            )
            ids.append(posted.comment.id)
        await _answer(send, 200, orjson.dumps(ids))

    async def react(self, scope: Any, send: Any) -> None:
        """Readers react on a fixed schedule through core, as their PUTs would: each one a new
        reader (no token: one is issued) on a network of its own, half of them on the first
        comment (the popular one), up or down."""
        query = parse_qs(scope["query_string"].decode())
        rate, count = float(query["rate"][0]), int(query["count"][0])
        ids = [int(i) for i in query["comments"][0].split(",")]
        state = self.real.state.tl
        site = await state.sites.get(SITE)
        choices = site.reactions.choices

        async def one(_text: str, i: int) -> None:
            target = ids[0] if i % 2 == 0 else ids[i % len(ids)]
            network = f"10.{(i >> 8) & 255}.{i & 255}.1"  # an IPv4 network is its /24
            await react(
                state.services,
                site,
                target,
                choices[i % len(choices)],
                token=None,
                client_ip=network,
            )

        spawn(open_loop(rate, count, 0, one))
        await _answer(send, 202, b"started")


async def _answer(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


app = App()
