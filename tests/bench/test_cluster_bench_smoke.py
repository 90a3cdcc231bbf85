"""A short run of `make bench`'s cluster scenario (issue #20), so it cannot rot: three
processes of Threadline's broker over one Redis, then over a real 3-master, 3-replica
cluster. Every message reaches every process in both; the cluster's shards each carry their
own pages with SPUBLISH and none sees a PUBLISH. Figures are printed, never compared."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.harness import Services
from bench.scenarios_cluster import cluster_bench
from tests.support.services import PostgresCluster, RedisServer

pytestmark = pytest.mark.slow


async def test_the_cluster_scenario_delivers_everything_through_both_brokers(
    pg_cluster: PostgresCluster,
    redis_server: RedisServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    services = Services(pg_cluster, redis_server, tmp_path)
    with capsys.disabled():
        found = await cluster_bench(services, pages=30, seconds=1.0)
    assert found["single"]["delivery"] >= 0.99
    assert found["cluster"]["delivery"] >= 0.99
    assert len(found["per_shard"]) == 3
    for counts in found["per_shard"].values():
        assert counts["publish"] == 0
        assert counts["spublish"] > 0
    assert found["ok"]
