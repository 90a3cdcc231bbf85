"""The Redis Cluster the cluster tests run on (issue #20): three masters with a replica each,
a shard channel published on the master that owns its slot, and a killed master's replica
promoted in its place."""

from __future__ import annotations

import pytest
import redis

from tests.support.cluster import RedisClusterSet

pytestmark = pytest.mark.slow

CHANNEL = "tl:p:{x}"


def test_shard_channel_lives_on_its_master_and_moves_to_the_promoted_replica(
    redis_cluster: RedisClusterSet,
) -> None:
    masters = redis_cluster.masters()
    assert len(masters) == 3
    owner = redis_cluster.master_of(CHANNEL)
    assert owner in masters
    redis_cluster.reset_stats()
    client = redis.Redis(port=owner, socket_timeout=2, decode_responses=True)
    pubsub = client.pubsub()  # type: ignore[no-untyped-call]
    try:
        pubsub.ssubscribe(CHANNEL)
        assert pubsub.get_sharded_message(timeout=2) is not None  # the subscription's ack
        assert redis_cluster.shard_channels(owner) == {CHANNEL}
        assert client.spublish(CHANNEL, "hello") == 1
        message = pubsub.get_sharded_message(timeout=2)
    finally:
        pubsub.close()
        client.close()
    assert message is not None
    assert message["data"] == "hello"
    assert redis_cluster.command_calls(owner).get("spublish") == 1
    for other in masters:
        if other != owner:
            assert "spublish" not in redis_cluster.command_calls(other)

    replica = redis_cluster.replica_of(owner)
    assert replica is not None
    redis_cluster.kill(owner)
    assert redis_cluster.wait_promoted(owner) == replica
    assert len(redis_cluster.masters()) == 3
    assert owner not in redis_cluster.masters()
    assert redis_cluster.master_of(CHANNEL) == replica
