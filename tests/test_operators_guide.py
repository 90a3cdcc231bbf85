"""docs/operators.md, followed literally: every `sh` block runs in order in bash (the first
block, "where things are", gets this test's own PostgreSQL, Redis and ports). The PostgreSQL
role and database are created with createuser and createdb, comments written on SQLite move
to PostgreSQL, two processes start on PostgreSQL and Redis, and a reader on one sees a
comment posted on the other."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from server.broker.memory import MemoryBroker
from server.core.authors import AuthorTokens
from server.core.comments import Draft, post_comment
from server.core.context import Limits, Services
from server.core.guards import form_token
from server.core.sites import SiteDirectory
from server.store.database import SqlStore
from tests.core.test_decisions import Recorder
from tests.support import logcheck
from tests.support.api import ORIGIN
from tests.support.net import http_client
from tests.support.services import PostgresCluster, RedisServer, free_port
from tests.support.ws import Reader

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "operators.md"


def blocks() -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", GUIDE.read_text(), re.MULTILINE | re.DOTALL)


def bash(script: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        start_new_session=True,
    )
    assert done.returncode == 0, f"{script}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    return done.stdout


async def seed_sqlite(url: str) -> None:
    """Readers used the one-process install for a while (posted through core)."""
    store = SqlStore(url)
    svc = Services(
        store=store,
        publisher=Recorder(),
        limiter=MemoryBroker("guide"),
        tokens=AuthorTokens("x" * 40),
        secret="x" * 40,
        limits=Limits(rate_limit=0, page_rate_limit=0, min_submit_ms=0),
    )
    site = await SiteDirectory(store).get("myblog")
    for i in range(30):
        await post_comment(
            svc,
            site,
            Draft(page="hello-world", body=f"Before the move {i}"),
            token=None,
            client_ip="192.0.2.1",
        )
    await store.close()


async def test_the_guide_ends_with_two_processes_serving_one_live_thread(
    pg_cluster: PostgresCluster, redis_server: RedisServer, tmp_path: Path
) -> None:
    steps = blocks()
    assert len(steps) >= 5 and "export DB=" in steps[0]
    port_a, port_b = free_port(), free_port()
    name = f"guide_{uuid.uuid4().hex[:8]}"  # the guide creates the role and the database
    steps[0] = (
        f"export SQLITE=sqlite:///{tmp_path}/threadline.db\n"
        f"export PGHOST=127.0.0.1 PGPORT={pg_cluster.port} PGUSER=postgres\n"
        f"export DB_USER={name} DB_NAME={name}\n"
        f"export DB=postgresql://$DB_USER@$PGHOST:$PGPORT/$DB_NAME\n"
        f"export REDIS={redis_server.url}\nexport PORT_A={port_a} PORT_B={port_b}\n"
        f"export SITE_ORIGIN={ORIGIN}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("THREADLINE_", "PG"))}
    assert pg_cluster.bindir is not None  # createuser and createdb come with the server
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}:{pg_cluster.bindir}"
    # The blocks share one shell's exports: run them as one script, but seed SQLite between
    # step 1 (install) and step 2 (the move), as readers would have.
    first = "\n".join(steps[:2])
    rest = "\n".join(steps[2:])
    state = tmp_path / "state.env"
    for name in ("a.log", "b.log"):  # where the guide's `nohup threadline serve` writes
        logcheck.adopt(tmp_path / name)
    bash(first + f"\nexport -p > {state}\n", tmp_path, env)
    await seed_sqlite(f"sqlite:///{tmp_path}/threadline.db")
    group: int | None = None
    try:
        out = bash(f"source {state}\n{rest}\necho GROUP $$\n", tmp_path, env)
        assert "verified: every table has the same rows and checksums" in out
        group = int(re.findall(r"GROUP (\d+)", out)[-1])
        a, b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
        async with http_client(timeout=15, headers={"Origin": ORIGIN}) as http:
            moved = (
                await http.get(f"{b}/api/v1/sites/myblog/thread", params={"page": "hello-world"})
            ).json()
            assert moved["page"]["count"] == 30 and moved["page"]["seq"] == 30
            reader = await Reader.open(
                f"ws://127.0.0.1:{port_b}/ws", "myblog", "hello-world", seq=30
            )
            # A reader who loaded the form a minute ago (the server holds faster posts).
            secret = re.findall(r'THREADLINE_SECRET_KEY="([^"]+)"', state.read_text())[-1]
            token = form_token(secret, "myblog", int(time.time() * 1000) - 60_000)
            r = await http.post(
                f"{a}/api/v1/sites/myblog/comments",
                json={"page": "hello-world", "body": "After the move, on A", "form_token": token},
            )
            assert r.status_code == 201, r.text
            event = await reader.next("comment.created")
            assert event["seq"] == 31
            assert event["data"]["comment"]["body"] == "After the move, on A"
            await reader.close()
    finally:
        if group is not None:
            os.killpg(group, signal.SIGTERM)


def test_the_guide_shows_the_error_a_missing_database_really_gives() -> None:
    import asyncpg

    from server.store.preflight import explain

    missing = asyncpg.exceptions.InvalidCatalogNameError('database "threadline" does not exist')
    line = explain("postgresql://threadline@127.0.0.1:5432/threadline", "--to", missing)
    assert f"threadline: error: {line}\n" in GUIDE.read_text()
