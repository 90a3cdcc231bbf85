"""`make bench`: run every scenario, print a summary, write results and docs/benchmarks.md."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from bench import baseline, plots, report
from bench.compare import COMPARISONS, SESSIONS
from bench.harness import QUICK, ROOT, Services, machine
from bench.scenarios_cluster import cluster_bench
from bench.scenarios_fanout import (
    capacity,
    latency,
    memory,
    null_ceiling,
    python_pubsub_reader,
    redis_benchmark,
    throughput,
)
from bench.scenarios_faults import flood_one_ip, load_and_faults
from bench.scenarios_full_path import full_path
from bench.scenarios_hot_page import hot_page_bench
from bench.scenarios_http import http_bench
from bench.scenarios_notifications import notification_bench
from bench.scenarios_reactions import reaction_burst
from bench.scenarios_readers import readers_50k
from bench.scenarios_widget import widget


async def references(services: Services) -> dict[str, Any]:
    """The physical limits every Threadline figure is divided by."""
    return {
        "redis_benchmark": await asyncio.to_thread(redis_benchmark, services),
        "python_pubsub_reader": await asyncio.to_thread(python_pubsub_reader, services),
        "null_ceiling": await null_ceiling(services),
    }


Scenario = Callable[[Services], Awaitable[dict[str, Any]]]
SCENARIOS: list[tuple[str, Scenario]] = [
    ("references", references),
    ("latency", latency),
    ("throughput", throughput),
    ("memory", memory),
    ("capacity", capacity),
    ("http", http_bench),
    ("hot_page", hot_page_bench),
    ("full_path", full_path),
    ("readers", readers_50k),
    ("reactions", reaction_burst),
    ("notifications", notification_bench),
    ("widget", widget),
    ("cluster", cluster_bench),
    ("load_and_faults", load_and_faults),
    ("flood", flood_one_ip),
]


def main(argv: list[str]) -> int:
    """`python -m bench [SCENARIO ...]`: all scenarios, or only those named (their results
    replace the same scenarios in latest.json); `--report` only redraws the docs."""
    out = ROOT / "bench" / "results"
    latest = out / ("quick.json" if QUICK else "latest.json")
    if argv == ["--report"]:
        results = json.loads(latest.read_text())
    else:
        only = set(argv)
        unknown = only - {name for name, _ in SCENARIOS}
        if unknown:
            print(f"unknown scenarios: {sorted(unknown)}; known: {[n for n, _ in SCENARIOS]}")
            return 2
        results = run(only)
        if only and latest.exists():
            results = report.merge_partial(json.loads(latest.read_text()), results)
        out.mkdir(parents=True, exist_ok=True)
        latest.write_text(json.dumps(results, indent=2, default=str))
        if "baseline" in results:
            name = f"baseline-{results['baseline']['sha'][:12]}{'-quick' if QUICK else ''}.json"
            (out / name).write_text(json.dumps(results["baseline"], indent=2, default=str))
    print(report.summary(results))
    if not QUICK:
        docs = ROOT / "docs"
        images = plots.draw(results, docs / "bench")
        report.write_markdown(results, docs / "benchmarks.md", images)
    compared = (results.get("baseline") or {}).get("scenarios", {})
    return (
        0
        if all(
            s.get("ok", True)
            for s in [*results["scenarios"].values(), *compared.values()]
            if isinstance(s, dict)
        )
        else 1
    )


def run(only: set[str]) -> dict[str, Any]:
    services = Services()
    services.start()
    results: dict[str, Any] = {"machine": machine(), "started": time.time(), "scenarios": {}}
    try:
        rev = baseline.requested()
        if rev is not None:
            tree = services.baseline = baseline.export(rev, services.work)
            imports = tree.check()
            print(f"[bench] baseline {tree.label} exported to {tree.root}", flush=True)
            print(f"[bench] baseline imports server from {imports['server']}", flush=True)
            results["baseline"] = {
                "rev": rev,
                "sha": tree.sha,
                "label": tree.label,
                "current": baseline.current().label,
                "imports": imports,
                "sessions_per_tree": SESSIONS,
                "scenarios": {},
            }
        for name, scenario in SCENARIOS:
            if only and name not in only:
                continue
            print(f"[bench] {name} ...", flush=True)
            began = time.monotonic()
            try:
                results["scenarios"][name] = asyncio.run(scenario(services))
            except Exception as exc:  # noqa: BLE001 -- one broken scenario must not hide others
                traceback.print_exc()
                results["scenarios"][name] = {"ok": False, "error": repr(exc)}
            took = round(time.monotonic() - began, 1)
            results["scenarios"][name]["seconds"] = took
            print(f"[bench] {name} done in {took} s", flush=True)
            if services.baseline is not None and name in COMPARISONS:
                results["baseline"]["scenarios"][name] = compare(name, services)
    finally:
        services.stop()
    return results


def compare(name: str, services: Services) -> dict[str, Any]:
    """The scenario's figures again, this tree against the baseline's, sessions alternating."""
    print(f"[bench] {name} against the baseline ...", flush=True)
    began = time.monotonic()
    try:
        got = asyncio.run(COMPARISONS[name](services))
    except Exception as exc:  # noqa: BLE001 -- the scenario's own figures still count
        traceback.print_exc()
        got = {"ok": False, "error": repr(exc), "figures": []}
    got["seconds"] = took = round(time.monotonic() - began, 1)
    print(f"[bench] {name} against the baseline done in {took} s", flush=True)
    return got


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
