"""Broker failover under load (issue #20): two servers, 100 readers and writers posting
throughout while the Redis that carries the busiest page dies. On a Redis Cluster, the master
owning that page's slot is killed and its replica promoted; under Sentinel, the master is
killed and the sentinels fail over. In each: every accepted comment is in the database
exactly once, every reader ends with all of them in order, and no request failed with a
5xx (the database never went away)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.faults import Fault, Outcome, run
from server.broker.channels import page_channel
from server.core.context import command_services
from server.core.sites import add_site
from server.store.database import SqlStore
from tests.support.api import ORIGIN
from tests.support.cluster import RedisClusterSet
from tests.support.config import SECRET
from tests.support.db import Databases, page_of
from tests.support.live import start_pair
from tests.support.services import SentinelSet

pytestmark = pytest.mark.slow

SITE, PAGE = "failover", "faults"
COMMENTS, READERS, WRITERS = 500, 100, 6


async def under_load(
    databases: Databases, broker_url: str, tmp_path: Path, fault: Callable[[SqlStore], Fault]
) -> Outcome:
    db_url = await databases.create("postgresql")
    store = SqlStore(db_url, pool_size=2)
    await add_site(command_services(store, SECRET), SITE, origins=[ORIGIN])
    # All readers come from 127.0.0.1: lift the per-IP socket cap for this run.
    a, b = start_pair(db_url, broker_url, tmp_path, THREADLINE_WS_MAX_PER_IP="1000")
    try:
        outcome = await run(
            [a, b],
            None,
            store,
            SITE,
            comments_total=COMMENTS,
            readers=READERS,
            writers=WRITERS,
            origin=ORIGIN,
            page=PAGE,
            faults=[fault(store)],
            log=print,
        )
    finally:
        a.terminate()
        b.terminate()
        await store.close()
    print(
        f"\n[failover] {len(outcome.accepted)} accepted in {outcome.post_seconds:.1f}s, "
        f"statuses {dict(outcome.statuses)}, readers converged "
        f"{outcome.converge_seconds:.1f}s after the last post"
    )
    return outcome


def assert_nothing_lost(outcome: Outcome) -> None:
    assert len(outcome.faults) == 1  # the fault struck
    assert len(outcome.accepted) == COMMENTS  # every post was eventually accepted
    assert outcome.rows == COMMENTS  # and is in the database exactly once
    assert outcome.duplicate_keys == 0
    assert outcome.missing_keys == 0
    assert outcome.final_seq == COMMENTS
    assert not [status for status in outcome.statuses if status >= 500]
    assert outcome.readers_complete == READERS  # every reader has 1..N, in order, once


async def test_the_busiest_pages_cluster_master_dies_under_load(
    databases: Databases,
    redis_cluster: RedisClusterSet,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster = redis_cluster
    killed: list[tuple[int, int]] = []

    def kill_the_busiest_pages_master(store: SqlStore) -> Fault:
        async def action() -> None:
            page_id, _ = await page_of(store, SITE, PAGE)
            master = cluster.master_of(page_channel(SITE, page_id))
            cluster.kill(master)
            promoted = await asyncio.to_thread(cluster.wait_promoted, master)
            killed.append((master, promoted))

        return Fault(0.25, "the busiest page's cluster master killed", action)

    with capsys.disabled():
        outcome = await under_load(databases, cluster.url, tmp_path, kill_the_busiest_pages_master)
    assert len(killed) == 1 and killed[0][0] != killed[0][1]  # a replica took over
    assert_nothing_lost(outcome)


async def test_the_sentinel_master_dies_under_load(
    databases: Databases,
    sentinels: SentinelSet,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    failed_over: list[int] = []

    def kill_the_master(_store: SqlStore) -> Fault:
        async def action() -> None:
            first = sentinels.master()
            assert first is not None
            sentinels.kill(first)
            await asyncio.to_thread(
                sentinels.wait_until, lambda: sentinels.master() not in (first, None)
            )
            promoted = sentinels.master()
            assert promoted is not None
            failed_over.append(promoted)

        return Fault(0.25, "the sentinel master killed", action)

    with capsys.disabled():
        outcome = await under_load(databases, sentinels.url, tmp_path, kill_the_master)
    assert failed_over == [sentinels.replica_port]
    assert_nothing_lost(outcome)
