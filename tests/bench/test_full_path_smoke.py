"""A short form of `make bench`'s full path scenario (issue 19), so it cannot rot: a real
poster process sends comments over HTTP to process A, readers on process B count every
frame, and bare `websockets` via Redis runs the same way. Real Redis and PostgreSQL; the
figures are printed, never compared with a time."""

from __future__ import annotations

import pytest

from bench.harness import Services
from bench.scenarios_full_path import full_path

pytestmark = pytest.mark.slow


async def test_http_posts_reach_every_reader_on_another_process(
    services: Services,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fig = await full_path(services, readers=20, count=10, rounds=1, rates=(10,))
    with capsys.disabled():
        print("\nfull path (short form):", {k: v for k, v in fig.items() if k != "bare"})
    mine = fig["threadline_http"]
    assert mine["latency"]["answers"] == {"201": 10}, mine
    assert mine["latency"]["delivered"] == 20 * 10 and mine["latency"]["delivery"] == 1.0
    assert fig["bare"]["latency"]["delivery"] == 1.0, fig["bare"]
    assert fig["p99_ratio"] > 0 and fig["max_rate_ratio"] is not None
