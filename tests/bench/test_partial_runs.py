"""`python -m bench SCENARIO` on another machine than the full run's: the page must not say
every figure came from the new machine (it did, and dropped the baseline comparison)."""

from __future__ import annotations

from bench.report import merge_partial


def test_a_partial_run_keeps_the_full_runs_machine_and_names_its_own() -> None:
    earlier = {
        "machine": {"cpu": "Intel Xeon"},
        "scenarios": {"latency": {"p99": 1}, "reactions": {"old": True}},
        "baseline": {"sha": "abc"},
    }
    now = {"machine": {"cpu": "AMD EPYC"}, "scenarios": {"reactions": {"frames": 5}}}
    merged = merge_partial(earlier, now)
    assert merged["machine"] == {"cpu": "Intel Xeon"}
    assert merged["baseline"] == {"sha": "abc"}
    assert merged["scenarios"] == {
        "latency": {"p99": 1},
        "reactions": {"frames": 5, "machine": "AMD EPYC"},
    }
    same = merge_partial(earlier, {"machine": {"cpu": "Intel Xeon"}, "scenarios": {"x": {}}})
    assert same["scenarios"]["x"] == {}
