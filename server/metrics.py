"""Process metrics in the Prometheus text format (0.0.4), kept as plain numbers.

The hot paths (fan-out, HTTP) only add to ints and floats here; turning them into text
happens when /metrics is scraped. No client library: its registries are process-global,
and one process may run several apps (tests do)."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable

Labels = tuple[tuple[str, str], ...]
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _labels(labels: Labels) -> str:
    if not labels:
        return ""

    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in labels) + "}"


def _num(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


class Histogram:
    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0
        self.n = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.total += value
        self.n += 1

    def lines(self, name: str, labels: Labels) -> Iterable[str]:
        cumulative = 0
        for bound, count in zip((*self.buckets, float("inf")), self.counts, strict=True):
            cumulative += count
            le = "+Inf" if bound == float("inf") else repr(bound)
            yield f"{name}_bucket{_labels((*labels, ('le', le)))} {cumulative}"
        yield f"{name}_sum{_labels(labels)} {self.total!r}"
        yield f"{name}_count{_labels(labels)} {self.n}"


class LiveStats:
    """The fan-out's own counters, bumped inline by the live node and its rooms."""

    __slots__ = ("catch_ups", "delivered", "dropped_slow", "fanout", "published")

    def __init__(self) -> None:
        self.published = 0  # durable events this process published
        self.catch_ups = 0  # times the broker lost messages and open pages caught up
        self.delivered = 0  # frames handed to local sockets
        self.dropped_slow = 0  # sockets closed because they did not read
        self.fanout = Histogram()  # one event: broker receipt -> every local socket written


class HttpStats:
    def __init__(self) -> None:
        self.latency: dict[Labels, Histogram] = defaultdict(Histogram)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.latency[
            (("route", route), ("method", method), ("status", f"{status // 100}xx"))
        ].observe(seconds)


class Exposition:
    """Builds one scrape's text."""

    def __init__(self) -> None:
        self.out: list[str] = []

    def metric(
        self, name: str, kind: str, help_: str, samples: Iterable[tuple[Labels, float]]
    ) -> None:
        self.out += [f"# HELP {name} {help_}", f"# TYPE {name} {kind}"]
        self.out += [f"{name}{_labels(labels)} {_num(value)}" for labels, value in samples]

    def histogram(self, name: str, help_: str, series: Iterable[tuple[Labels, Histogram]]) -> None:
        self.out += [f"# HELP {name} {help_}", f"# TYPE {name} histogram"]
        for labels, hist in series:
            self.out += list(hist.lines(name, labels))

    def text(self) -> str:
        return "\n".join(self.out) + "\n"
