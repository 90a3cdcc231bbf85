"""`make bench`: run every scenario, print a summary, write results and docs/benchmarks.md."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from bench import report
from bench.harness import QUICK, ROOT, Services, machine
from bench.scenarios_faults import flood_one_ip, load_and_faults

Scenario = Callable[[Services], Awaitable[dict[str, Any]]]
SCENARIOS: list[tuple[str, Scenario]] = [
    ("load_and_faults", load_and_faults),
    ("flood", flood_one_ip),
]


def main(argv: list[str]) -> int:
    only = set(argv)
    services = Services()
    services.start()
    results: dict[str, Any] = {"machine": machine(), "started": time.time(), "scenarios": {}}
    try:
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
            results["scenarios"][name]["seconds"] = round(time.monotonic() - began, 1)
    finally:
        services.stop()
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / ("quick.json" if QUICK else "latest.json")).write_text(
        json.dumps(results, indent=2, default=str))
    print(report.summary(results))
    if not QUICK and not only:
        report.write_markdown(results, ROOT / "docs" / "benchmarks.md")
    return 0 if all(s.get("ok", True) for s in results["scenarios"].values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
