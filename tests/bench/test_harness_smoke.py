"""A ten-second run of the benchmark harness, so that `make bench` cannot rot between runs:
the lean generator against Threadline and the bare reference (real processes, real Redis,
real PostgreSQL), then the report and the plots, from these figures and from the committed
full results. Figures are printed, never compared with a time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import plots, report
from bench.harness import ROOT, Services, machine
from bench.procs import Generator, Proc
from bench.scenarios_fanout import run_rate, with_readers
from bench.suts import BARE, THREADLINE
from server.core.threads import NEW_PAGES_PER_MINUTE
from tests.support.services import PostgresCluster, RedisServer

pytestmark = pytest.mark.slow
READERS, RATE, COUNT = 20, 20, 20


async def test_the_harness_measures_threadline_and_the_bare_reference(
    pg_cluster: PostgresCluster,
    redis_server: RedisServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    services = Services(pg_cluster, redis_server, tmp_path)

    async def body(gen: Generator, a: Proc | None, b: Proc) -> Any:
        return await run_rate(gen, a, b, services, rate=RATE, count=COUNT)

    latency: dict[str, Any] = {}
    throughput: dict[str, Any] = {}
    for sut in (THREADLINE, BARE):
        fig = await with_readers(services, sut, ["p"] * READERS, body)
        assert "error" not in fig, fig
        # Every reader got every event, and the generator reported its own CPU.
        assert fig["delivered"] == READERS * COUNT and fig["delivery"] == 1.0
        # CPU times tick in 10 ms steps: a run this short may cost B less than one tick.
        assert len(fig["generator_cpu"]) == 1 and fig["b_cpu_us_per_frame"] >= 0
        assert 0 < fig["p50_ms"] <= fig["p99_ms"] <= fig["max_ms"]
        latency[sut.name] = {str(READERS): fig}
        throughput[sut.name] = {
            "max_rate": RATE,
            "points": [
                {
                    "rate": RATE,
                    "offered_frames_per_s": RATE * READERS,
                    "delivered_frames_per_s": fig["delivered"] / (COUNT / RATE),
                    **fig,
                }
            ],
        }
        with capsys.disabled():
            print(
                f"\n[bench smoke] {sut.name}: {READERS} readers, {RATE} events/s: "
                f"p50 {fig['p50_ms']} ms, p99 {fig['p99_ms']} ms, "
                f"B {fig['b_cpu_us_per_frame']} us/frame"
            )

    results = {"machine": machine(), "scenarios": {"latency": latency, "throughput": throughput}}
    table = report.summary(results)
    assert f"(a) threadline, {READERS} readers" in table
    images = plots.draw(results, tmp_path / "plots")
    assert [p.name for p in images] == ["latency.png", "throughput.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in images)


def test_the_report_covers_every_target_of_the_committed_full_run(tmp_path: Path) -> None:
    results = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())
    found = report.targets(results)
    assert {t.key for t in found} >= {
        "a_bare",
        "a_peer",
        "b_bare",
        "b_peer",
        "b_cpu",
        "c",
        "d",
        "e_list",
        "e_post",
        "f",
    }
    assert all(t.met is not None for t in found), [t.measure for t in found if t.met is None]
    page = tmp_path / "benchmarks.md"
    report.write_markdown(results, page, plots.draw(results, tmp_path / "bench"))
    text = page.read_text()
    for t in found:
        assert t.measure in text
    for t in found:
        if t.met is False:  # every miss is explained next to its figure
            assert report.EXPLAIN[t.key] in text


async def test_readers_of_more_new_pages_than_one_network_may_make_all_join(
    pg_cluster: PostgresCluster, redis_server: RedisServer, tmp_path: Path
) -> None:
    """The memory and capacity scenarios put 10,000 readers on 200 pages, from loopback: the
    harness makes the pages first, or the new-page limit per network turns most away."""
    services = Services(pg_cluster, redis_server, tmp_path)
    pages = [f"many{i}" for i in range(NEW_PAGES_PER_MINUTE + 40)]

    async def body(gen: Generator, a: Proc | None, b: Proc) -> Any:
        return {"joined": len(pages)}

    fig = await with_readers(services, THREADLINE, pages, body, publisher=False)
    assert fig == {"joined": len(pages)}
