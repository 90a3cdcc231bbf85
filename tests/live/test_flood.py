"""A flood from one IP is cut off at its limit; everyone else keeps posting and reading."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.flood import FloodOutcome, run
from server.core.context import command_services
from server.core.sites import add_site
from server.store.database import SqlStore
from tests.support.api import ORIGIN
from tests.support.config import SECRET, env_for
from tests.support.db import Databases
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.slow


@pytest.fixture
async def limited(databases: Databases, tmp_path: Path) -> AsyncIterator[ServerProcess]:
    url = await databases.create("sqlite")
    store = SqlStore(url)
    await add_site(command_services(store, SECRET), "flood", origins=[ORIGIN])
    await store.close()
    # 127.0.0.1 is trusted as a proxy so the test can speak for many client IPs.
    server = ServerProcess(
        env_for(
            url,
            tmp_path,
            THREADLINE_RATE_LIMIT="10",
            THREADLINE_PAGE_RATE_LIMIT="600",
            THREADLINE_TRUSTED_PROXIES="127.0.0.1",
        )
    )
    server.start()
    yield server
    server.terminate()


async def test_one_ip_posting_1000_times_in_10s_gets_429s(
    limited: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = await run(
        limited.url,
        limited.port,
        "flood",
        origin=ORIGIN,
        floods=1000,
        seconds=10,
        readers=20,
        legit=10,
    )
    with capsys.disabled():
        print(
            f"\n[flood] flooder: {dict(outcome.flood_statuses)} in "
            f"{outcome.flood_seconds:.1f}s; other readers' delivery latency, calm: "
            f"{FloodOutcome.summary(outcome.calm_ms)}; under the flood: "
            f"{FloodOutcome.summary(outcome.flood_ms)}"
        )
    assert outcome.flood_statuses == {201: 10, 429: 990}  # exactly the limit got through
    assert all(value.isdigit() and 1 <= int(value) <= 60 for value in outcome.retry_after)
    assert outcome.legit_statuses == {201: 15}  # nobody else was refused
    assert outcome.delivered_all  # every reader has every accepted comment, in order
