"""A short form of `make bench`'s 50,000-reader scenario (issue 19), so it cannot rot: the
publisher and two reader processes through one Redis and PostgreSQL, readers bound to
several loopback source addresses, events on several pages, then tracemalloc's account of a
socket in a server of its own. Structure and delivery are asserted; the figures are printed,
never compared with a time."""

from __future__ import annotations

import json

import pytest

from bench.harness import Services
from bench.scenarios_readers import SMALL, SOURCE_ADDRESSES, readers_50k

pytestmark = pytest.mark.slow


async def test_readers_on_two_processes_get_every_event_and_a_socket_is_accounted_for(
    services: Services,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fig = await readers_50k(services, SMALL)
    with capsys.disabled():
        print("\nreaders (short form):", {k: v for k, v in fig.items() if k != "points"})
    json.dumps(fig)  # the bench writes it to latest.json as it is
    (point,) = fig["points"]
    readers = SMALL.steps[0]
    assert point["joined"] == point["connections"] == readers, point
    # Split evenly over the two reader processes, each using memory for what it holds.
    assert [p["sockets"] for p in point["idle"].values()] == [readers // 2] * 2
    assert all(p["kib_per_socket"] > 0 for p in point["idle"].values()), point
    # One event per second on each page, every one to each of its readers.
    events = SMALL.pages * SMALL.seconds
    assert point["delivered"] == readers * SMALL.seconds == events * readers // SMALL.pages
    assert point["delivery"] == 1.0 and point["closed"] == point["errors"] == 0, point
    assert 0 < point["p50_ms"] <= point["p99_ms"] <= point["p999_ms"] <= point["max_ms"]
    assert set(point["cpu"]) == {
        "B1",
        "B2",
        "publisher",
        "redis",
        "postgresql",
        "generator",
        "readers_core",
        "rig_core",
    }
    assert fig["plan"]["source_addresses"] == len(SOURCE_ADDRESSES) > 1
    assert fig["kib_per_socket"] == point["kib_per_socket"] > 0
    assert fig["max_readers"] in (readers, None)  # None: p99 over 200 ms on a busy machine
    assert fig["targets"]["p99_met"] == (fig["max_readers"] == readers)

    where = fig["where_the_bytes_go"]
    assert where["joined"] == where["sockets"] == SMALL.trace_sockets, where
    assert where["python_bytes_per_socket"] > 1024
    assert where["by_file"] and where["by_line"] and where["stacks"]
    # The biggest files add up to no more than the whole.
    assert sum(f["bytes_per_socket"] for f in where["by_file"]) <= (
        where["python_bytes_per_socket"] * 1.01
    )
