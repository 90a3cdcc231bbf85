"""A short reaction burst through the benchmark's own scenario, so `make bench`'s reaction
figures cannot rot between runs: real processes A and B, real Redis and PostgreSQL. The
coalescing bound and the exact totals are asserted; the figures are printed, never compared
with a time."""

from __future__ import annotations

import pytest

from bench.harness import Services
from bench.scenarios_reactions import reaction_burst

pytestmark = pytest.mark.slow


async def test_a_reaction_burst_reaches_every_reader_coalesced_and_exact(
    services: Services,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fig = await reaction_burst(services, readers_n=10, count=200, rate=100.0)
    with capsys.disabled():
        print(
            "\nreaction burst (short form):", {k: v for k, v in fig.items() if k != "final_totals"}
        )
    assert fig["exact_everywhere"], fig
    assert sum(sum(t.values()) for t in fig["final_totals"].values()) == 200
    # One frame per room per 500 ms at most: a 2 s burst, settling, and a first frame.
    assert (
        1
        <= fig["frames_per_reader_max"]
        <= 200 / 100.0 / 0.5 + 4 + fig["settled_ms_after_burst"] / 500
    )
