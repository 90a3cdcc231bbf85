"""BENCH_BASELINE's mechanism, short: HEAD exported with `git archive`, its Threadline started
from the exported tree (fan-out SUT and `serve`), and proof that those processes import the
exported tree's code, not this checkout's. Figures are printed, never compared with a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from bench import compare, report, scenarios_http
from bench.baseline import PROBED, Tree, current, export
from bench.harness import ROOT, Services
from bench.procs import Generator, Proc
from bench.scenarios_fanout import run_rate, with_readers
from bench.suts import threadline_from
from tests.support.services import PostgresCluster, RedisServer

READERS, RATE, COUNT = 10, 20, 10
# Appended to the exported tree's server/__init__.py: every process importing it says so.
MARK = """
import os as _os
if _os.environ.get("BENCH_IMPORT_MARK"):
    with open(_os.environ["BENCH_IMPORT_MARK"], "a") as _mark:
        _mark.write(__file__ + "\\n")
"""


@pytest.fixture
def marked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Tree, Path]:
    tree = export("HEAD", tmp_path / "work")
    assert tree.root.is_relative_to(tmp_path) and tree.root != ROOT
    found = tree.check()
    assert set(found) == set(PROBED)
    assert all(Path(f).is_relative_to(tree.root) for f in found.values()), found
    with (tree.root / "server" / "__init__.py").open("a") as fh:
        fh.write(MARK)
    log = tmp_path / "imports.log"
    monkeypatch.setenv("BENCH_IMPORT_MARK", str(log))
    return tree, log


def imported(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.slow
async def test_a_baseline_fanout_sut_runs_from_the_exported_tree(
    pg_cluster: PostgresCluster,
    redis_server: RedisServer,
    tmp_path: Path,
    marked: tuple[Tree, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    tree, log = marked
    services = Services(pg_cluster, redis_server, tmp_path)
    services.baseline = tree
    before = len(imported(log))

    async def body(gen: Generator, a: Proc | None, b: Proc) -> Any:
        assert a is not None and a.proc is not None and b.proc is not None
        assert Path(f"/proc/{b.pid}/cwd").resolve() == tree.root.resolve()
        c0 = compare.cpu_ns(b.pid)
        fig = await run_rate(gen, a, b, services, rate=RATE, count=COUNT)
        assert compare.cpu_ns(b.pid) >= c0
        return fig

    fig = await with_readers(services, threadline_from(tree), ["p"] * READERS, body)
    assert "error" not in fig, fig
    assert fig["delivered"] == READERS * COUNT
    # migrate and site add (the tree's CLI), then the publisher A and the fan-out process B.
    seen = imported(log)[before:]
    assert len(seen) >= 4, seen
    assert all(Path(f).is_relative_to(tree.root) for f in seen), seen
    with capsys.disabled():
        print(
            f"\n[baseline smoke] threadline @ {tree.label}: {READERS} readers, {RATE} events/s:"
            f" p50 {fig['p50_ms']} ms, p99 {fig['p99_ms']} ms; imports from {tree.root}"
        )


@pytest.mark.slow
async def test_a_baseline_http_server_runs_from_the_exported_tree(
    pg_cluster: PostgresCluster,
    redis_server: RedisServer,
    tmp_path: Path,
    marked: tuple[Tree, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tree, log = marked
    services = Services(pg_cluster, redis_server, tmp_path)
    listed: list[int] = []

    def one_request(url: str, *, script: str | None = None) -> dict[str, Any]:
        """Instead of wrk (not needed by the test suite): one listing request."""
        r = httpx.get(url, timeout=10)
        listed.append(len(r.json()["comments"]))
        return {"requests_per_s": 1.0, "p50_ms": 1.0, "p99_ms": 1.0, "non_2xx": 0}

    monkeypatch.setattr(scenarios_http, "wrk", one_request)
    before = len(imported(log))
    got = await scenarios_http.threadline(services, "sqlite", tree, posting=False)
    assert got["listing"]["requests_per_s"] == 1.0 and listed and listed[0] > 0
    seen = imported(log)[before:]
    assert len(seen) >= 3, seen  # migrate, site add, serve
    assert all(Path(f).is_relative_to(tree.root) for f in seen), seen


def test_sessions_alternate_and_verdicts_use_the_runs_own_spread() -> None:
    assert compare.schedule(2) == ["current", "baseline", "baseline", "current"]
    assert compare.schedule(4)[4:] == compare.schedule(2)
    raw = {
        "sessions": {
            "current": [{"latency.p99_ms": 10.0}, {"latency.p99_ms": 14.0}],
            "baseline": [{"latency.p99_ms": 12.0}, {"latency.p99_ms": 12.0}],
        }
    }
    [fig] = compare.verdicts(raw)
    assert fig["ratio"] == 1.0 and fig["spread"] == pytest.approx(14 / 10 - 1, abs=1e-3)
    assert fig["verdict"] == "within noise"
    raw["sessions"]["current"] = [{"latency.p99_ms": 20.0}, {"latency.p99_ms": 20.0}]
    [fig] = compare.verdicts(raw)
    assert fig["verdict"] == "WORSE" and fig["tolerance"] == compare.FIGURES[fig["key"]].floor
    raw["sessions"]["current"] = [{"latency.p99_ms": 6.0}, {"latency.p99_ms": 6.0}]
    assert compare.verdicts(raw)[0]["verdict"] == "better"
    base = {
        "label": "HEAD (0123456789)",
        "current": current().label,
        "sessions_per_tree": 2,
        "scenarios": {"latency": {"figures": compare.verdicts(raw)}},
    }
    results = {"machine": {"quick": True}, "scenarios": {}, "baseline": base}
    text = report.summary(results)
    assert "Baseline comparison" in text and "6.00 ms / 12.00 ms = 0.50x" in text
