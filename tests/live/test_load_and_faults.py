"""Short form of the load-and-fault run (the long one is in `make bench`): two servers on
PostgreSQL and Redis, readers on both, writers posting while Redis restarts twice and one
server is killed with SIGKILL and restarted."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.faults import run
from server.core.context import command_services
from server.core.sites import add_site
from server.store.database import SqlStore
from tests.support.api import ORIGIN
from tests.support.config import SECRET
from tests.support.db import Databases
from tests.support.live import start_pair
from tests.support.services import RedisServer

pytestmark = pytest.mark.slow


async def test_nothing_is_lost_through_redis_restarts_and_a_killed_server(
    databases: Databases,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    redis = RedisServer(tmp_path_factory.mktemp("redis-faults"))
    redis.start()
    db_url = await databases.create("postgresql")
    store = SqlStore(db_url, pool_size=2)
    await add_site(command_services(store, SECRET), "faults", origins=[ORIGIN])
    # All readers come from 127.0.0.1: lift the per-IP socket cap for this run.
    a, b = start_pair(db_url, redis.url, tmp_path, THREADLINE_WS_MAX_PER_IP="1000")
    try:
        with capsys.disabled():
            outcome = await run(
                [a, b],
                redis,
                store,
                "faults",
                comments_total=500,
                readers=40,
                writers=6,
                origin=ORIGIN,
            )
            print(
                f"\n[faults] {len(outcome.accepted)} accepted in {outcome.post_seconds:.1f}s, "
                f"{outcome.transport_errors} transport errors retried, readers converged "
                f"{outcome.converge_seconds:.1f}s after the last post, "
                f"{sum(f.drops for f in outcome.followers)} reader drops"
            )
    finally:
        a.kill()
        b.terminate()
        redis.stop()
        await store.close()
    assert len(outcome.faults) == 3  # two Redis restarts and one SIGKILL happened
    assert len(outcome.accepted) == 500  # every post was eventually accepted
    assert outcome.rows == 500  # and is in the database exactly once
    assert outcome.duplicate_keys == 0
    assert outcome.missing_keys == 0
    assert outcome.final_seq == 500
    assert outcome.five_hundreds == 0
    assert outcome.readers_complete == 40  # every reader has 1..500, in order, no repeats
    assert sum(f.drops for f in outcome.followers) >= 20  # readers on A really reconnected
