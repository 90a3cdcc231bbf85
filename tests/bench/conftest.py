"""What the bench's short forms share: its services (this session's PostgreSQL cluster and
Redis, and a work directory of the test's own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.harness import Services
from tests.support.services import PostgresCluster, RedisServer


@pytest.fixture
def services(pg_cluster: PostgresCluster, redis_server: RedisServer, tmp_path: Path) -> Services:
    return Services(pg_cluster, redis_server, tmp_path)
