"""The Redis Cluster the cluster tests run on (issue #20): three masters with a replica each,
a shard channel published on the master that owns its slot, and a killed master's replica
promoted in its place."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.support.cluster import RedisClusterSet
from tests.support.services import unavailable

pytestmark = pytest.mark.slow

CHANNEL = "tl:p:{x}"


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterSet]:
    found = RedisClusterSet(tmp_path_factory.mktemp("cluster"))
    if found.exe is None:
        unavailable("redis-server")
    found.start()  # (all down again if it fails)
    try:
        yield found
    finally:
        found.stop()


def test_shard_channel_lives_on_its_master_and_moves_to_the_promoted_replica(
    cluster: RedisClusterSet,
) -> None:
    masters = cluster.masters()
    assert len(masters) == 3
    owner = cluster.master_of(CHANNEL)
    assert owner in masters
    cluster.reset_stats()
    client = redis.Redis(port=owner, socket_timeout=2, decode_responses=True)
    pubsub = client.pubsub()  # type: ignore[no-untyped-call]
    try:
        pubsub.ssubscribe(CHANNEL)
        assert pubsub.get_sharded_message(timeout=2) is not None  # the subscription's ack
        assert cluster.shard_channels(owner) == {CHANNEL}
        assert client.spublish(CHANNEL, "hello") == 1
        message = pubsub.get_sharded_message(timeout=2)
    finally:
        pubsub.close()
        client.close()
    assert message is not None
    assert message["data"] == "hello"
    assert cluster.command_calls(owner).get("spublish") == 1
    for other in masters:
        if other != owner:
            assert "spublish" not in cluster.command_calls(other)

    replica = cluster.replica_of(owner)
    assert replica is not None
    cluster.kill(owner)
    assert cluster.wait_promoted(owner) == replica
    assert len(cluster.masters()) == 3
    assert owner not in cluster.masters()
    assert cluster.master_of(CHANNEL) == replica
