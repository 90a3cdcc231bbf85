"""(e) HTTP: listing a 50-comment thread and posting, 50 connections, one server core, against
Isso run as its documentation advises (gunicorn, --preload)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import tempfile
from typing import TYPE_CHECKING, Any

import httpx

from bench.harness import ORIGIN, QUICK, ROOT, Services
from bench.procs import Proc, pinned

if TYPE_CHECKING:
    from bench.baseline import Tree

SECONDS = 1 if QUICK else 6
CONNECTIONS = 50

POST_LUA = """
local counter = 0
local tag = tostring(math.random(1, 1000000000))
request = function()
  counter = counter + 1
  local body = string.format(%(template)s, tag, counter)
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json"}, body)
end
"""


def wrk(url: str, *, script: str | None = None, seconds: int = SECONDS) -> dict[str, Any]:
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script is not None:
        fd, path = tempfile.mkstemp(suffix=".lua")
        with os.fdopen(fd, "w") as fh:
            fh.write(script)
        cmd += ["-s", path]
    out = subprocess.run(
        pinned("0", [*cmd, url]), capture_output=True, text=True, check=False, timeout=seconds + 60
    ).stdout

    def ms(label: str) -> float | None:
        found = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        if not found:
            return None
        value, unit = float(found.group(1)), found.group(2)
        return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 2)

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "requests_per_s": float(rps.group(1)) if rps else None,
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


async def _seed_threadline(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        parents = []
        for i in range(40):
            r = await http.post(
                "/api/v1/sites/bench/comments",
                json={
                    "page": "t50",
                    "name": f"Reader {i}",
                    "body": f"Comment {i}: a realistic sentence or two about the article.",
                },
            )
            parents.append(r.json()["comment"]["id"])
        for i in range(10):
            await http.post(
                "/api/v1/sites/bench/comments",
                json={"page": "t50", "parent": parents[-1 - i], "body": f"A reply number {i}."},
            )


async def threadline(
    services: Services, backend: str, tree: Tree | None = None, *, posting: bool = True
) -> dict[str, Any]:
    """Threadline's `serve` on one core; from another revision's exported tree when given
    (its own CLI, run there, since the console script imports the editable install)."""
    serve = ["serve", "--host", "127.0.0.1", "--port", "{port}"]
    if tree is None:
        db = await services.database(backend)
        store = await services.site(db, "bench")
        await store.close()
        env = services.server(db).env
        server = Proc(
            ["threadline", *serve],
            env={**env, "PATH": str(ROOT / ".venv" / "bin") + ":/usr/bin:/bin"},
            cpu="1",
            log=services.work / f"http-{backend}.log",
        )
        server.cmd[0] = str(ROOT / ".venv" / "bin" / "threadline")
    else:
        db = await services.database(backend, migrated=False)
        env = services.server(db).env
        await asyncio.to_thread(tree.prepare, env)
        server = Proc(
            tree.cli(*serve),
            env={**env, "PATH": str(ROOT / ".venv" / "bin") + ":/usr/bin:/bin"},
            cpu="1",
            log=services.work / f"http-{backend}-{tree.slug}.log",
            cwd=tree.root,
        )
    server.start()
    try:
        await _seed_threadline(server.url)
        listing = wrk(f"{server.url}/api/v1/sites/bench/thread?page=t50")
        if not posting:
            return {"listing": listing}
        posted = wrk(
            f"{server.url}/api/v1/sites/bench/comments",
            script=POST_LUA
            % {
                "template": '\'{"page":"posts","body":"post %s-%d"}\'',
                "path": "/api/v1/sites/bench/comments",
            },
        )
    finally:
        server.terminate()
    return {"listing": listing, "posting": posted}


async def isso(services: Services) -> dict[str, Any]:
    work = services.work / "isso"
    work.mkdir(exist_ok=True)
    proc = Proc(
        [
            str(ROOT / "bench" / ".venv-peers" / "bin" / "gunicorn"),
            "-b",
            "127.0.0.1:{port}",
            "-w",
            "1",
            "--preload",
            "isso.run",
        ],
        cpu="1",
        log=work / "isso.log",
    )
    config = work / "isso.cfg"
    config.write_text(
        f"[general]\ndbpath = {work}/comments.db\nhost = {ORIGIN}/\n"
        f"[server]\nlisten = http://127.0.0.1:{proc.port}/\n"
        "[moderation]\nenabled = false\n[guard]\nenabled = false\n"
    )
    proc.env = {"ISSO_SETTINGS": str(config)}
    proc.start()
    try:
        async with httpx.AsyncClient(base_url=proc.url, timeout=30) as http:
            parents = []
            for i in range(40):
                r = await http.post(
                    "/new",
                    params={"uri": "/t50"},
                    json={
                        "text": f"Comment {i}: a realistic sentence or two about the article.",
                        "author": f"Reader {i}",
                        "title": "An article",
                    },
                )
                parents.append(r.json()["id"])
            for i in range(10):
                await http.post(
                    "/new",
                    params={"uri": "/t50"},
                    json={"text": f"A reply number {i}.", "parent": parents[-1 - i]},
                )
            listed = (await http.get("/", params={"uri": "/t50"})).json()
            shown = len(listed["replies"]) + sum(
                len(c.get("replies", [])) for c in listed["replies"]
            )
        listing = wrk(f"{proc.url}/?uri=/t50")
        posting = wrk(
            f"{proc.url}/new?uri=/posts",
            script=POST_LUA
            % {"template": '\'{"text":"post %s-%d","title":"t"}\'', "path": "/new?uri=/posts"},
        )
    finally:
        proc.terminate()
    return {"listing": listing, "posting": posting, "comments_listed": shown}


async def http_bench(services: Services) -> dict[str, Any]:
    out = {
        "threadline (sqlite)": await threadline(services, "sqlite"),
        "threadline (postgresql)": await threadline(services, "postgresql"),
        "isso": await isso(services),
    }
    await asyncio.sleep(0)
    return out
