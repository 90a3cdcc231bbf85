"""PNG plots for docs/benchmarks.md, drawn from the results JSON alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display here, and none wanted

import matplotlib.pyplot as plt

from bench.report import BARE, NULL, PEERS, THREADLINE

STYLE = {THREADLINE: ("tab:blue", "o"), BARE: ("tab:gray", "s"), NULL: ("black", "x")}
PEER_STYLE = [("tab:orange", "^"), ("tab:green", "v"), ("tab:red", "D"), ("tab:purple", "P")]


def _style(name: str) -> tuple[str, str]:
    if name in STYLE:
        return STYLE[name]
    return PEER_STYLE[PEERS.index(name) % len(PEER_STYLE)] if name in PEERS else ("tab:brown", ".")


def latency_plot(latency: dict[str, Any], path: Path) -> bool:
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    drawn = False
    for name, sizes in latency.items():
        if not isinstance(sizes, dict):
            continue
        points = sorted(
            (int(n), f) for n, f in sizes.items() if isinstance(f, dict) and "p99_ms" in f
        )
        if not points:
            continue
        color, marker = _style(name)
        xs = [n for n, _ in points]
        ax.plot(
            xs, [f["p99_ms"] for _, f in points], marker=marker, color=color, label=f"{name} p99"
        )
        ax.plot(
            xs,
            [f["p50_ms"] for _, f in points],
            marker=marker,
            color=color,
            linestyle=":",
            alpha=0.7,
            label=f"{name} p50",
        )
        drawn = True
    if not drawn:
        plt.close(fig)
        return False
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("readers on process B")
    ax.set_ylabel("delivery latency (ms), 10 events/s")
    ax.set_title("(a) Publish on A -> delivery on B via Redis")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def throughput_plot(throughput: dict[str, Any], null: dict[str, Any] | None, path: Path) -> bool:
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    series = {
        name: data.get("points", []) for name, data in throughput.items() if isinstance(data, dict)
    }
    if null:
        series[NULL] = null.get("points", [])
    top = 0.0
    for name, points in series.items():
        points = [p for p in points if isinstance(p, dict) and "offered_frames_per_s" in p]
        if not points:
            continue
        color, marker = _style(name)
        xs = [p["offered_frames_per_s"] for p in points]
        ys = [p["delivered_frames_per_s"] for p in points]
        ax.plot(xs, ys, marker=marker, color=color, label=name)
        over = [(x, y) for x, y, p in zip(xs, ys, points, strict=True) if p["p99_ms"] > 100]
        if over:
            over_x, over_y = zip(*over, strict=True)
            ax.scatter(over_x, over_y, s=90, facecolors="none", edgecolors="red")
        top = max(top, *xs)
    if top == 0:
        plt.close(fig)
        return False
    ax.plot([0, top], [0, top], color="lightgray", linestyle="--", label="everything delivered")
    ax.set_xlabel("offered frames/s (events/s x 1,000 readers)")
    ax.set_ylabel("delivered frames/s")
    ax.set_title("(b) Delivered against offered; red ring: p99 > 100 ms")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def draw(results: dict[str, Any], folder: Path) -> list[Path]:
    """Write the plots the results allow; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    s = results["scenarios"]
    made = []
    if isinstance(s.get("latency"), dict):
        path = folder / "latency.png"
        if latency_plot(s["latency"], path):
            made.append(path)
    if isinstance(s.get("throughput"), dict):
        path = folder / "throughput.png"
        null = (s.get("references") or {}).get("null_ceiling")
        if throughput_plot(s["throughput"], null, path):
            made.append(path)
    return made
