"""Turning bench results into a terminal summary and docs/benchmarks.md.

Every row is (measure, figure, target, verdict). A verdict is `met`, `MISSED`, `ok`/`FAIL`
for correctness checks, or `-` for figures shown for comparison only. Ratios divide by the
physical-limit references (bare websockets, the in-process ceiling) and by the best peer."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Row = tuple[str, str, str, str]
THREADLINE, BARE, NULL, RAW_ASGI = (
    "threadline",
    "websockets via Redis",
    "websockets in-process",
    "raw ASGI (uvicorn)",
)
PEERS = (
    "broadcaster",
    "python-socketio",
    "channels (RedisChannelLayer)",
    "channels (RedisPubSubChannelLayer)",
)
WIDGET_BUDGET = 12 * 1024
RIG_SATURATED = 0.85  # the shared core's busy share above which a point is the rig's

# What the profiles (py-spy on the measured process) showed in the way of each target, shown
# next to a miss. Kept here, beside the targets, so a miss and its explanation travel together.
EXPLAIN = {
    "a_bare": "Each event is validated and committed to PostgreSQL on process A (an fsync'd "
    "transaction) before it is published, so that no reader ever sees an event the "
    "database could lose; the bare reference publishes a payload straight to Redis.",
    "a_peer": "Each Threadline event is validated and committed to PostgreSQL on process A "
    "before it is published, so that no reader ever sees an event the database "
    "could lose; the peers publish a payload straight to Redis. Across runs the "
    "ratio has been between 0.40x and 0.56x.",
    "b_bare": "B is not what stops Threadline: it spends less CPU per frame than the bare "
    "reference (see the next rows). Each Threadline event is a comment validated "
    "and committed to PostgreSQL on A, and A, PostgreSQL, Redis and the generator "
    "share one core; at 35 events/s that core is >85 % busy, the publisher runs "
    "late, and the lateness is measured as delivery latency (the bare reference's "
    "A only forwards a payload). Such failures are marked as the rig's; a machine "
    "with a third core for the publisher is needed to find B's own limit. Across "
    "runs on this machine the held rate varied between 25 and 60 events/s.",
    "b_peer": "Same cause as above: the rig's shared core, not B, limits Threadline's rate.",
    "b_cpu": "B's CPU per frame includes the JSON envelope per event and presence bookkeeping.",
    "c": "Per-socket memory is uvicorn's websocket protocol objects plus Threadline's "
    "connection state.",
    "d": "At 10,000 readers the scenario asks for 200 comments per second through the durable "
    "path (validation and a PostgreSQL commit on A), and A, PostgreSQL, Redis and four "
    "generator processes share one core: that core saturates, the publisher runs late and "
    "the lateness is counted as delivery latency, while B spends ~32 us per frame (a "
    "third of its core). Such points are flagged `rig core`; this 2-core machine cannot "
    "drive the 10,000-reader point honestly. B's own obstacle was the garbage collector: "
    "full collections at 10,000 sockets took 0.2-0.9 s until `server/runtime/gctune.py` (freeze "
    "what exists after startup, young-generation threshold 20,000); now ~70 ms, "
    "which still reaches the p99 at that size.",
    "e_post": "Posting is CPU-bound on one core. Profiled in a slower run (363/s on SQLite, "
    "212/s on PostgreSQL): SQLite ~1.8 ms per post, of which "
    "SQLAlchemy Core statement execution is ~18 %, connection checkout and BEGIN ~7 "
    "%, IP hashing ~4 %, the rest the HTTP stack, validation, token issue and the "
    "event row. PostgreSQL: ~4 ms per post, ~33 % of it SQLAlchemy's greenlet "
    "adapter around asyncpg, and ~7 statements each a network round trip inside "
    "one transaction. Isso writes one row and publishes nothing; its own figure is "
    "fsync-bound on this disk and moved between 38/s and 403/s across runs, so the "
    "ratio moves with it.",
    "e_list": "Listing is served from the first-page cache (p50 ~13 ms at 50 connections); "
    "the SQLite tail comes from pauses on the event loop, which runs SQLite "
    "statements itself and refreshes the cache there.",
    "f": "First paint includes fetching /widget.js and the first thread page over loopback "
    "in a cold browser context.",
}


FULL_PATH_FINDINGS = (
    "What the profile shows (py-spy on A at 35 posts/s, the bench's rig CPU per step; issue "
    "19). Delivery itself is not the gap: B spends the same ~10-15 µs per frame for "
    "Threadline and bare. The gap is the post before the publish: process A spends ~7-8 ms "
    "of CPU per HTTP post at these rates (the request ~40 % of its samples: Starlette and "
    "the middleware ~6 %, SQLAlchemy's asyncpg adapter ~20 % over the post's statements, "
    "the read of the committed event's seq ~5 %; the event loop's own callbacks ~29 %; the "
    "fan-out worker ~6 %; the Redis publish ~4 %), and A shares the rig's core with "
    "PostgreSQL, Redis, the poster and the generator. Its p50 (~18 ms against bare's ~9 ms) "
    "is the post's round trips to PostgreSQL on that busy core; the highest rate stops "
    "where the rig's core saturates (flagged `rig core` at 45/s, 0.95 of the core, where "
    "bare's publisher costs next to nothing and saturates it only past 75/s). **Tried**: "
    "numbering events at commit (the page's lock is no longer held across round trips), "
    "the fan-out's poll reading each page's row once. **Next**: fewer statements per post "
    "(the name check's moderator names and the seq read-back are a round trip each), "
    "asyncpg directly on the post path, and A's per-post CPU."
)

CAPACITY_FINDINGS = (
    "What is in the way (issue 19). **Latency**: one event per second on each of 100 pages "
    "is 25,000 frames a second to 25,000 readers and 50,000 to 50,000; the reader "
    "processes share one core at ~10-19 µs per frame, and at 50,000 "
    "readers that core and the rig's (the generator parsing every frame, the publisher, "
    "PostgreSQL) both run at ~0.97-0.98: p99 is queueing on saturated cores, not a "
    "per-socket cost. 25,000 held at p99 166 ms in one run and 279 ms in another (the rig's "
    "core at 0.87-0.90). A machine with a third core for the generator, or readers spread "
    "over both cores, is what 50,000 needs here. **Memory**: an idle socket is ~21 KiB (raw "
    "ASGI under uvicorn ~19.5): uvicorn's websocket protocol object ~5.8 KiB, its receive "
    "queue and locks ~4 KiB, Threadline's own connection state ~1 KiB. **Tried**: the "
    "servers now let go of the handshake's request and response once a socket is accepted "
    "(~2 KiB a socket: 23.1 to 21.2 KiB), and the bench runs the websocket protocol "
    "`threadline serve` runs. **Next**: a lighter receive queue than uvicorn's per socket "
    "(~3-4 KiB). This machine allows 20,000 open files a process (not raisable here), so "
    "the scenario runs three reader processes where the issue asks for two."
)

CLUSTER_FINDINGS = (
    "Findings. On this 2-core machine one Redis is not the bottleneck, so shards cannot "
    "raise the figure, and the cluster's own cost shows instead. In the committed run one "
    "Redis used 0.14 of a core to carry every message to three subscribers while the three "
    "brokers used the rest of both cores (1.86): the brokers' Python is the limit. With "
    "three shards the six nodes (masters and the replicas they stream to) took 0.36 of a "
    "core, leaving the brokers 1.66, and each message cost a broker 26 us instead of 21: "
    "three subscriber connections and three publishing pipelines a process instead of one, "
    "and a slot lookup per message. py-spy on one broker, in both modes: redis-py reading "
    "each publish's reply back, an asyncio timeout per reply, is about 40 % of its samples, "
    "the subscriber's own reading 16-22 %, the slot lookup 5 %. Before publishes went "
    "grouped by master as one plain pipeline each, redis-py's cluster pipeline took 30 % "
    "(a third of it working out each command's slot) and the cluster delivered 1.7x less. "
    "What the cluster buys is the spread (every shard carries a third of the pages' "
    "messages, no node sees a PUBLISH) and no single point of failure; three shards carry "
    "three times as much where one Redis runs out of its core (about 60,000 PUBLISH/s "
    "unpipelined on this machine, see the references), which takes more broker processes "
    "than two cores can run."
)

NOTIFICATIONS_FINDINGS = (
    "Findings. The fan-out is out of the posting transaction: a post writes nothing for it, "
    "and one batch every 0.25 s writes a notification per reply and joins each follower's "
    "open mail (a row per follower and batch; it was a row per follower and reply, ~2.5 a "
    "reply here, each with four indexes). In process, on this scenario's shape (130 replies "
    "a batch, 20 reply followers, 2 thread followers): SQLite 95-115 -> 43-49 us of wall "
    "time a comment, 34 us of it on the event loop's thread; PostgreSQL 340 -> 76-84 us "
    "(server CPU 63 us and PostgreSQL's 46 us a comment, against 2,820 and 1,123 us a "
    "post: 2.8 %). py-spy on the SQLite server under wrk: the fan-out 36 of 1,862 busy "
    "samples of the event loop's thread (1.9 %; 4.1-4.6 % before). What went: the "
    "outbox rows, a scan of the followers per reply (now dicts), a second query for the "
    "replies' parents (now joined), statements built per batch (now prebuilt), a cursor "
    "insert per batch (now only for new pages), and on notifications an index and two "
    "foreign keys (migration 0017: unique by comment first, so a batch lands at the "
    "index's right edge, and no key-share lock on the page's row that every post updates). "
    "The measurement: with a server started per session (10-16 pairs of 5 s), pairs "
    "swung +-10-15 % and the medians of this same code ranged 0.915-1.008 (SQLite) and "
    "0.919-0.993 (PostgreSQL); an A/A run (both arms off) gave 0.978. Now both servers "
    "run at once and wrk alternates between them in 3 s windows (20 pairs), so a pair's "
    "halves are seconds apart: a first run gave SQLite's pairs 0.905-1.037, median 0.976, "
    "CPU per post +2.6 %, what the profile says the fan-out costs. Noticed: a post writes "
    "~49.8 KB of WAL on SQLite (12 pages), the fan-out "
    "~1.7 KB a comment. Runs of this code since (20 pairs each): PostgreSQL 0.945, 0.955, "
    "0.958, 0.995 and 0.991 (the one above), SQLite 0.967 and 0.951 (above): single pairs "
    "swing by +-10 % and more, the medians sit at or above 0.95, and the steadier CPU per "
    "post is +3-7 % with notifications on. A pg_stat_statements run put the rest of "
    "PostgreSQL's extra time in the fan-out's notification inserts (~37 us a row under "
    "load) and in posting's own reads running slower beside them on the shared core; "
    "dropping the notifications' foreign key to comments made no difference beyond the "
    "noise."
)

HOT_PAGE_FINDINGS = (
    "What the profiles show (py-spy on the server, `pg_stat_statements` on PostgreSQL; "
    "issue 19). **PostgreSQL**: a page's posts used to queue on its row lock, which keeps "
    "`seq` gap-free: numbered by a statement, the lock was held across the round trip to "
    "COMMIT and each post's wait in a busy server's event loop (24-26 ms of lock wait per "
    "post with three round trips, ~15 ms with one). Events are now numbered at COMMIT by a "
    "deferred trigger (migration 0015): the lock is held for the commit alone, the seq "
    "UPDATE's mean time fell to ~0.1 ms, p99 on replies to one page from ~1,100 to ~500-640 "
    "ms, and one page posts as fast as 20 pages. What is left in the way is the server's "
    "CPU on its one core: ~2.9 ms per post on PostgreSQL (half of it in SQLAlchemy's asyncpg "
    "adapter around ~8 statements, plus the read-back of the committed event's seq), "
    "~2.2 ms on SQLite (the HTTP stack, SQLAlchemy, token issue, the event); the database "
    "~1.1-1.3 ms per post. At 50 connections against one saturated core, p99 is queueing: "
    "50 posts in flight over ~300-450 posts/s. **Tried**: the seq+event statement (+10 % on "
    "PostgreSQL); numbering at commit (the lock wait gone; the rate then bound by server "
    "CPU); the readers' fan-out off the comment rows (0.3 ms of database CPU per post with "
    "nobody to tell) and its poll reading each hot page's row once, not once per event (125 "
    "ms a poll at 250 posts/s, now 0.7 ms); the duplicate check by an indexed hash of the "
    "text (one network posting: 400/s with cost growing 1.7x over the run, now flat). "
    "**Next**: the 1,000/s target needs about 1 ms of server CPU per post on one core, or "
    "several server processes: asyncpg directly on the post path (no SQLAlchemy compile and "
    "greenlet hops), the post's checks folded into one or two statements, and grouping "
    "concurrent posts of a page into one transaction."
)


@dataclass
class Target:
    key: str
    measure: str
    figure: str
    target: str
    met: bool | None  # None: could not be measured

    def row(self) -> Row:
        verdict = "n/a" if self.met is None else "met" if self.met else "MISSED"
        return (self.measure, self.figure, self.target, verdict)


def _get(d: Any, *path: str | int) -> Any:
    for key in path:
        if isinstance(d, dict):
            d = d.get(key if not isinstance(key, int) else str(key))
        elif isinstance(d, list) and isinstance(key, int) and -len(d) <= key < len(d):
            d = d[key]
        else:
            return None
    return d


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0 or math.isnan(a) or math.isnan(b):
        return None
    return a / b


def _fmt(x: float | None, unit: str = "", digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:,.{digits}f}{unit}"


def _x(r: float | None) -> str:
    return "n/a" if r is None else f"{r:.2f}x"


def _flags(point: dict[str, Any]) -> list[str]:
    flags = list(point.get("bottleneck") or [])
    if point.get("rig_cpu", 0) > RIG_SATURATED and "rig core" not in flags:
        flags.append("rig core")  # points recorded under an older, higher threshold
    return flags


def _valid(point: Any) -> bool:
    return isinstance(point, dict) and "p99_ms" in point and point.get("delivery", 0) >= 0.999


def best_peer_latency(lat: dict[str, Any], readers: int) -> tuple[str | None, float | None]:
    found = [
        (name, _get(lat, name, readers, "p99_ms"))
        for name in PEERS
        if _valid(_get(lat, name, readers))
    ]
    found = [(n, p) for n, p in found if p is not None]
    return min(found, key=lambda f: f[1]) if found else (None, None)


def best_peer_rate(tp: dict[str, Any]) -> tuple[str | None, float | None]:
    found = [(name, _get(tp, name, "max_rate")) for name in PEERS if name in tp]
    found = [(n, r) for n, r in found if r is not None]
    return max(found, key=lambda f: f[1]) if found else (None, None)


def common_cpu(tp: dict[str, Any]) -> tuple[float | None, float | None, float | None]:
    """B's CPU per frame for Threadline and bare at the highest rate both held."""

    def good(name: str) -> dict[float, float]:
        points = _get(tp, name, "points") or []
        return {
            p["rate"]: p["b_cpu_us_per_frame"] for p in points if _valid(p) and p["p99_ms"] <= 100
        }

    ours, bare = good(THREADLINE), good(BARE)
    shared = sorted(set(ours) & set(bare))
    if not shared:
        return None, None, None
    rate = shared[-1]
    return rate, ours[rate], bare[rate]


def targets(results: dict[str, Any]) -> list[Target]:
    s = results["scenarios"]
    out: list[Target] = []
    lat, tp = s.get("latency") or {}, s.get("throughput") or {}

    # (a) latency at 1,000 readers, 10 events/s
    ours, bare = _get(lat, THREADLINE, 1000, "p99_ms"), _get(lat, BARE, 1000, "p99_ms")
    if lat:
        r = _ratio(ours, bare)
        out.append(
            Target(
                "a_bare",
                "(a) p99 delivery, 1,000 readers on B, 10 events/s",
                f"{_fmt(ours, ' ms')} vs bare {_fmt(bare, ' ms')} = {_x(r)}",
                "<= 1.3x bare",
                None if r is None else r <= 1.3,
            )
        )
        peer, peer_p99 = best_peer_latency(lat, 1000)
        r = _ratio(ours, peer_p99)
        out.append(
            Target(
                "a_peer",
                "(a) p99 against the best peer",
                f"{_fmt(ours, ' ms')} vs {peer} {_fmt(peer_p99, ' ms')} = {_x(r)}",
                "<= 0.5x best peer",
                None if r is None else r <= 0.5,
            )
        )
    # (b) sustained rate at 1,000 readers
    if tp:
        ours_rate, bare_rate = _get(tp, THREADLINE, "max_rate"), _get(tp, BARE, "max_rate")
        r = _ratio(ours_rate, bare_rate)
        flagged = [
            p["rate"]
            for p in _get(tp, THREADLINE, "points") or []
            if isinstance(p, dict)
            and _flags(p)
            and not (p["p99_ms"] <= 100 and p["delivery"] >= 0.999)
        ]
        note = f" (failed with the rig's core saturated: {flagged} events/s)" if flagged else ""
        out.append(
            Target(
                "b_bare",
                "(b) events/s held at p99 <= 100 ms, 1,000 readers",
                f"{_fmt(ours_rate, '', 0)} vs bare {_fmt(bare_rate, '', 0)} = {_x(r)}{note}",
                ">= 0.7x bare",
                None if r is None else r >= 0.7,
            )
        )
        peer, peer_rate = best_peer_rate(tp)
        r = _ratio(ours_rate, peer_rate)
        out.append(
            Target(
                "b_peer",
                "(b) events/s against the best peer",
                f"{_fmt(ours_rate, '', 0)} vs {peer} {_fmt(peer_rate, '', 0)} = {_x(r)}",
                ">= 5x best peer",
                None if r is None else r >= 5,
            )
        )
        rate, ours_cpu, bare_cpu = common_cpu(tp)
        r = _ratio(ours_cpu, bare_cpu)
        out.append(
            Target(
                "b_cpu",
                "(b) B's CPU per delivered frame",
                f"{_fmt(ours_cpu, ' us')} vs bare {_fmt(bare_cpu, ' us')} = {_x(r)} "
                f"(at {_fmt(rate, '', 0)} events/s)",
                "<= 1.3x bare",
                None if r is None else r <= 1.3,
            )
        )
    # (c) memory per idle connection
    mem = s.get("memory") or {}
    if mem:
        steps = _get(mem, THREADLINE, "steps") or []
        raw = {
            st["connections"]: st["kib_per_connection"] for st in _get(mem, RAW_ASGI, "steps") or []
        }
        joined = 0
        for st in steps:
            kib = st["kib_per_connection"]
            joined += st["joined"]  # each step's generator reports only its own readers
            out.append(
                Target(
                    "c",
                    f"(c) memory per idle websocket, {st['connections']:,} open",
                    f"{kib} KiB (raw ASGI {_fmt(raw.get(st['connections']), ' KiB')}"
                    f", {_x(_ratio(kib, raw.get(st['connections'])))})",
                    "<= 25 KiB",
                    kib <= 25 and joined >= st["connections"],
                )
            )
    # (d) capacity
    cap = s.get("capacity") or {}
    if cap and "error" not in cap:
        held = cap.get("max_readers")
        worst = [p for p in cap.get("points", []) if isinstance(p, dict)]
        detail = "; ".join(
            f"{p['readers']:,}: p99 {p['p99_ms']} ms"
            + (f" [{','.join(_flags(p))}]" if _flags(p) else "")
            for p in worst
        )
        out.append(
            Target(
                "d",
                "(d) readers one process holds at p99 <= 100 ms",
                f"{_fmt(held, '', 0)} ({detail})",
                ">= 10,000",
                None if not worst else (held or 0) >= 10000,
            )
        )
    # (e) HTTP
    http = s.get("http") or {}
    if http and "error" not in http:
        isso_list = _get(http, "isso", "listing", "requests_per_s")
        isso_post = _get(http, "isso", "posting", "requests_per_s")
        for label in ("threadline (sqlite)", "threadline (postgresql)"):
            rps = _get(http, label, "listing", "requests_per_s")
            p99 = _get(http, label, "listing", "p99_ms")
            r = _ratio(rps, isso_list)
            out.append(
                Target(
                    "e_list",
                    f"(e) listing a 50-comment thread, {label}",
                    f"{_fmt(rps, '/s', 0)}, p99 {_fmt(p99, ' ms')}; Isso "
                    f"{_fmt(isso_list, '/s')} = {_x(r)}",
                    ">= 2,000/s at p99 <= 50 ms, > 100x Isso",
                    None if r is None or p99 is None else rps >= 2000 and p99 <= 50 and r > 100,
                )
            )
            posts = _get(http, label, "posting", "requests_per_s")
            r = _ratio(posts, isso_post)
            out.append(
                Target(
                    "e_post",
                    f"(e) posting, {label}",
                    f"{_fmt(posts, '/s', 0)}, p99 "
                    f"{_fmt(_get(http, label, 'posting', 'p99_ms'), ' ms')}; Isso "
                    f"{_fmt(isso_post, '/s', 0)} = {_x(r)}",
                    ">= 3x Isso",
                    None if r is None else r >= 3,
                )
            )
    # (f) widget
    w = s.get("widget") or {}
    if w and "error" not in w:
        out.append(
            Target(
                "f",
                "(f) widget, gzipped",
                f"{w['gzip_bytes']:,} bytes ({w['gzip_bytes'] / 1024:.1f} KiB)",
                "<= 12 KiB",
                w["gzip_bytes"] <= WIDGET_BUDGET,
            )
        )
        out.append(
            Target(
                "f",
                "(f) script start -> 50-comment thread painted (median)",
                f"{w['first_paint_median_ms']} ms (min {w['first_paint_min_ms']}, "
                f"max {w['first_paint_max_ms']}, {w['loads']} loads)",
                "<= 100 ms",
                w["first_paint_median_ms"] <= 100,
            )
        )
    return out


def reference_rows(results: dict[str, Any]) -> list[Row]:
    s = results["scenarios"]
    out: list[Row] = []
    ref = s.get("references") or {}
    if ref and "error" not in ref:
        rb = ref.get("redis_benchmark") or {}
        out.append(
            (
                "L0: redis-benchmark PUBLISH (plain / pipelined 16)",
                f"{_fmt(rb.get('publish_per_s'), '/s', 0)} / "
                f"{_fmt(rb.get('publish_pipelined_per_s'), '/s', 0)}",
                "",
                "-",
            )
        )
        pr = ref.get("python_pubsub_reader") or {}
        out.append(
            (
                "L1: one Python process reading Redis pub/sub",
                f"{_fmt(pr.get('messages_per_s'), ' msg/s', 0)}",
                "",
                "-",
            )
        )
        null = ref.get("null_ceiling") or {}
        best = [
            p
            for p in null.get("points", [])
            if isinstance(p, dict) and p.get("rate") == null.get("max_rate")
        ]
        cpu = f", {best[0]['b_cpu_us_per_frame']} us/frame" if best else ""
        out.append(
            (
                "L2: websockets broadcast in one process, 1,000 readers",
                f"{_fmt(null.get('max_rate'), ' events/s', 0)} at p99 <= 100 ms{cpu}",
                "",
                "-",
            )
        )
    lat = s.get("latency") or {}
    for name, sizes in lat.items():
        if name == "seconds" or not isinstance(sizes, dict):
            continue
        for n, fig in sizes.items():
            if not isinstance(fig, dict):
                continue
            if "error" in fig:
                out.append((f"(a) {name}, {n} readers", fig["error"], "", "FAIL"))
                continue
            lost = "" if fig["delivery"] >= 0.999 else f", {1 - fig['delivery']:.0%} lost"
            out.append(
                (
                    f"(a) {name}, {int(n):,} readers, 10 events/s",
                    f"p50 {fig['p50_ms']} / p99 {fig['p99_ms']} / p99.9 {fig['p999_ms']} ms,"
                    f" fan-out done p99 {fig['completion_p99_ms']} ms{lost}",
                    "",
                    "-",
                )
            )
    tp = s.get("throughput") or {}
    for name, data in tp.items():
        if name == "seconds" or not isinstance(data, dict):
            continue
        points = [p for p in data.get("points", []) if isinstance(p, dict) and "p99_ms" in p]
        top = max(points, key=lambda p: p["rate"]) if points else None
        out.append(
            (
                f"(b) {name}, 1,000 readers",
                f"held {_fmt(data.get('max_rate'), ' events/s', 0)}"
                + (
                    f"; last tried {top['rate']}/s: p99 {top['p99_ms']} ms, delivered "
                    f"{top['delivery']:.1%}, B {top['b_cpu_us_per_frame']} us/frame"
                    if top
                    else ""
                ),
                "",
                "-",
            )
        )
    return out


def check_rows(results: dict[str, Any]) -> list[Row]:
    s = results["scenarios"]
    out: list[Row] = []
    f = s.get("load_and_faults") or {}
    if f and "error" not in f:
        out += [
            (
                "faults: comments accepted / in the database exactly once",
                f"{f['accepted']} / {f['rows']} (duplicates {f['duplicates']})",
                "all, once",
                "ok" if f["rows"] == f["comments"] and not f["duplicates"] else "FAIL",
            ),
            (
                "faults: readers ending with every event in order",
                f"{f['readers_complete']} of {f['readers']} ({f['reader_drops']} drops)",
                "all",
                "ok" if f["readers_complete"] == f["readers"] else "FAIL",
            ),
            (
                "faults: HTTP 5xx answers other than 503",
                str(f["http_5xx"]),
                "0",
                "ok" if f["http_5xx"] == 0 else "FAIL",
            ),
        ]
        postgres = any("postgresql" in str(what) for what in f.get("faults", []))
        if postgres:
            out.append(
                (
                    "faults: 503 answers while PostgreSQL restarted (each with Retry-After)",
                    f"{f['http_503']} over {f['writes_refused_seconds']} s "
                    f"({f['http_503_without_retry_after']} without)",
                    "all with Retry-After",
                    "ok" if f["http_503_without_retry_after"] == 0 else "FAIL",
                )
            )
        out.append(
            (
                "faults: posting rate through 2 Redis restarts, a SIGKILL and a PostgreSQL restart"
                if postgres
                else "faults: posting rate through 2 Redis restarts and a SIGKILL",
                f"{f['posts_per_second']}/s",
                "",
                "-",
            )
        )
    f = s.get("flood") or {}
    if f and "error" not in f:
        out += [
            (
                "flood: 1,000 posts in 10 s from one IP",
                str(f["flood_statuses"]),
                "10 accepted",
                "ok" if f["ok"] else "FAIL",
            ),
            (
                "flood: other readers' delivery latency, calm",
                f"median {f['calm']['median_ms']} ms, p95 {f['calm']['p95_ms']} ms",
                "",
                "-",
            ),
            (
                "flood: other readers' delivery latency, under the flood",
                f"median {f['under_flood']['median_ms']} ms, p95 {f['under_flood']['p95_ms']} ms",
                "",
                "-",
            ),
        ]
    for name, value in s.items():
        if isinstance(value, dict) and "error" in value:
            out.append((name, value["error"], "", "FAIL"))
    return out


def reaction_rows(results: dict[str, Any]) -> list[Row]:
    """A reaction burst on one hot page, beside the fan-out figures (issue 17)."""
    r = results["scenarios"].get("reactions") or {}
    if not r or "error" in r:
        return []
    burst = f"{r['reactions']:,} reactions at {r['rate']:.0f}/s, {r['readers']} readers"
    if r.get("machine"):
        burst += f"; measured on {r['machine']}"
    return [
        (
            f"reactions: frames per reader ({burst})",
            f"max {r['frames_per_reader_max']}, mean {r['frames_per_reader_mean']} "
            f"(uncoalesced: {r['uncoalesced_frames_per_reader']:,}); "
            f"{r['bytes_per_reader_mean']:,} B",
            "<= 1 per 500 ms",
            "ok"
            if r["frames_per_reader_max"] <= r["reactions"] / r["rate"] / 0.5 + 3
            else "MISSED",
        ),
        (
            "reactions: B's CPU per reaction / per durable event to the same readers",
            f"{r['b_cpu_us_per_reaction']} us / {r['b_cpu_us_per_event']} us "
            f"({_x(_ratio(r['b_cpu_us_per_reaction'], r['b_cpu_us_per_event']))})",
            "",
            "-",
        ),
        (
            "reactions: exact final totals on every reader",
            f"{'yes' if r['exact_everywhere'] else 'NO'}, "
            f"{r['settled_ms_after_burst']} ms after the burst's last reaction",
            "all exact",
            "ok" if r["exact_everywhere"] else "FAIL",
        ),
    ]


def notification_rows(results: dict[str, Any]) -> list[Row]:
    """Reply posting with readers' notifications on and off, in the same run (issue 18)."""
    found = results["scenarios"].get("notifications") or {}
    if not found or "error" in found:
        return []
    out: list[Row] = []
    for r in found.get("runs", []):
        ratio = r["ratio"] or 0.0
        out.append(
            (
                f"posting replies ({r['backend']}), notifications on / off",
                f"{r['posts_per_s_on']:,}/s / {r['posts_per_s_off']:,}/s; median of the "
                f"pairs' ratios {ratio:.3f} ({r.get('pair_ratios')}); the fan-out's transactions "
                f"{(r.get('fanout_share') or 0) * 100:.1f} % of the on sessions' time "
                f"(sessions on {r['each_on']}, off {r['each_off']}; p99 {r['p99_ms_on']} / "
                f"{r['p99_ms_off']} ms; server + database CPU per post "
                f"{r.get('cpu_us_per_post_on')} / {r.get('cpu_us_per_post_off')} us; "
                f"{r['emails_sent']} e-mails sent)",
                ">= 0.95",
                "ok" if ratio >= 0.95 and r["non_2xx"] == 0 else "MISSED",
            )
        )
    return out


def hot_page_rows(results: dict[str, Any]) -> list[Row]:
    """Posting to one hot page (issue 19): each shape on each store, and the targets."""
    found = results["scenarios"].get("hot_page") or {}
    if not found or "error" in found:
        return []
    out: list[Row] = []
    for name, r in found.get("runs", {}).items():
        db = f", database {r['db_us_per_post']} µs" if r.get("db_us_per_post") else ""
        out.append(
            (
                f"posting, {name}",
                f"{r['posts_per_s']:,}/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms; CPU per "
                f"post: server {r['server_us_per_post']} µs{db}; last / first 10 % "
                f"{r['last_vs_first_cpu_per_post']}",
                "",
                "ok" if r["non_2xx"] == 0 else f"{r['non_2xx']} non-2xx",
            )
        )
    isso = found.get("isso_posting") or {}
    out.append(
        (
            "posting, Isso (one page, same run)",
            f"{isso.get('requests_per_s')}/s, p99 {isso.get('p99_ms')} ms",
            "",
            "reference",
        )
    )
    for backend, t in found.get("targets", {}).items():
        checks = [
            ("rate_met", f">= 1,000/s (got {t['posts_per_s']:,})"),
            ("p99_met", "p99 <= 100 ms"),
            ("vs_isso_met", f">= 5x Isso (got {t['vs_isso']}x)"),
            ("db_met", "database <= 1 ms per post"),
        ]
        for key, what in checks:
            if t.get(key) is None:
                continue
            out.append(
                (f"hot page target ({backend})", what, "issue 19", "met" if t[key] else "MISSED")
            )
    return out


def full_path_rows(results: dict[str, Any]) -> list[Row]:
    """Comments POSTed over HTTP to process A, to 1,000 readers on B, beside bare (issue 19)."""
    found = results["scenarios"].get("full_path") or {}
    if not found or "error" in found:
        return []
    out: list[Row] = []
    for name, label in (("threadline_http", "Threadline, HTTP POST"), ("bare", "bare, via Redis")):
        r = found.get(name) or {}
        if "latency" not in r:
            out.append((f"full path: {label}", str(r.get("error", "no figures")), "", "MISSED"))
            continue
        lat = r["latency"]
        extra = (
            f"; A's CPU per post {lat['a_cpu_us_per_post']} µs"
            if "a_cpu_us_per_post" in lat
            else ""
        )
        out.append(
            (
                f"full path: {label}, {found['readers']:,} readers on B, 10 posts/s",
                f"p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms (rounds {lat['rounds_p99_ms']}); "
                f"B {lat['b_cpu_us_per_frame']} µs per frame{extra}; highest rate at p99 <= "
                f"100 ms: {r['max_rate']}/s",
                "",
                "reference" if name == "bare" else "-",
            )
        )
    ratio, rate_ratio = found.get("p99_ratio"), found.get("max_rate_ratio")
    if ratio is not None:
        out.append(
            (
                "full path p99, Threadline over HTTP / bare",
                f"{ratio}x",
                "<= 1.1x (issue 19)",
                "met" if ratio <= 1.1 else "MISSED",
            )
        )
    if rate_ratio is not None:
        out.append(
            (
                "full path highest rate at p99 <= 100 ms, Threadline over HTTP / bare",
                f"{rate_ratio}x",
                ">= 1.0x (issue 19)",
                "met" if rate_ratio >= 1.0 else "MISSED",
            )
        )
    return out


def readers_rows(results: dict[str, Any]) -> list[Row]:
    """Capacity (issue 19): readers held on one machine at 1 event/s on 100 pages."""
    found = results["scenarios"].get("readers") or {}
    if not found or "error" in found:
        return []
    out: list[Row] = []
    for p in found.get("points", []):
        figures = (
            f"joined {p['joined']:,} in {p['join_seconds']} s; {p['kib_per_socket']} KiB per "
            "idle socket"
        )
        if "p99_ms" in p:
            figures += (
                f"; p50 {p['p50_ms']} ms, p99 {p['p99_ms']} ms, delivered {p['delivery']:.2%}; "
                f"CPU {p.get('cpu')}"
            )
        if p.get("join_failure"):
            figures += f"; joins failed: {p['join_failure']}"
        out.append((f"capacity: {p['readers']:,} readers", figures, "", "-"))
    targets_ = found.get("targets", {})
    out.append(
        (
            "capacity: 50,000 readers at p99 <= 200 ms",
            f"held {found.get('max_readers')}; {found.get('stopped') or 'every step held'}",
            "issue 19",
            "met" if targets_.get("p99_met") else "MISSED",
        )
    )
    out.append(
        (
            "capacity: KiB per idle socket",
            f"{found.get('kib_per_socket')} (at {found.get('kib_per_socket_at')} sockets)",
            "<= 20 (issue 19)",
            "met" if targets_.get("kib_met") else "MISSED",
        )
    )
    traced = found.get("where_the_bytes_go") or {}
    if traced.get("by_file"):
        top = ", ".join(
            f"{entry['where']} {entry['bytes_per_socket'] / 1024:.1f}"
            for entry in traced["by_file"][:6]
        )
        out.append(
            (
                "capacity: where a socket's bytes go (tracemalloc, KiB)",
                f"{traced.get('python_kib_per_socket')} KiB of Python objects per socket: {top}",
                "",
                "-",
            )
        )
    return out


def cluster_rows(results: dict[str, Any]) -> list[Row]:
    """Fan-out through one Redis and through a 3-shard Redis Cluster (issue 20)."""
    found = results["scenarios"].get("cluster") or {}
    if not found or "error" in found:
        return []
    one, three = found["single"], found["cluster"]
    shards = ", ".join(
        f"{port}: {counts['spublish']:,} SPUBLISH / {counts['publish']} PUBLISH"
        for port, counts in found["per_shard"].items()
    )
    bound = "was" if found["single_redis_bound"] else "was not"
    return [
        (
            f"cluster: {found['processes']} broker processes, {found['pages']} pages, "
            "1 Redis / 3 shards",
            f"{one['delivered_per_s']:,}/s / {three['delivered_per_s']:,}/s delivered "
            f"(x{found['ratio']}); one Redis used {max(one['redis_cores'])} of a core "
            f"(the bottleneck it {bound}), the brokers {one['worker_cores']} and "
            f"{three['worker_cores']} on {found['cores']} cores",
            "grows with shards where Redis is the limit",
            "ok" if found["ok"] else "FAIL",
        ),
        ("cluster: messages per shard (SPUBLISH / PUBLISH)", shards, "no PUBLISH", "-"),
    ]


def rows(results: dict[str, Any]) -> list[Row]:
    return (
        [t.row() for t in targets(results)]
        + reference_rows(results)
        + hot_page_rows(results)
        + full_path_rows(results)
        + readers_rows(results)
        + reaction_rows(results)
        + notification_rows(results)
        + cluster_rows(results)
        + check_rows(results)
    )


def summary(results: dict[str, Any]) -> str:
    table = rows(results)
    w0 = max((len(r[0]) for r in table), default=10)
    w2 = max((len(r[2]) for r in table), default=6)
    lines = [
        "",
        "Threadline benchmark summary"
        + (" (BENCH_QUICK)" if results["machine"].get("quick") else ""),
        "=" * 28,
    ]
    lines += [
        f"{what:<{w0}}  {target:<{w2}}  [{verdict}]  {figure}"
        for what, figure, target, verdict in table
    ]
    base = results.get("baseline")
    if base:
        compared = baseline_rows(base)
        c0 = max((len(r[0]) for r in compared), default=10)
        c1 = max((len(r[1]) for r in compared), default=10)
        lines += ["", baseline_heading(base), "-" * 19]
        lines += [f"{what:<{c0}}  {fig:<{c1}}  [{verdict}]" for what, fig, verdict in compared]
    return "\n".join(lines)


def baseline_heading(base: dict[str, Any]) -> str:
    return (
        f"Baseline comparison: {base.get('current', 'current')} / {base['label']}, "
        f"{base.get('sessions_per_tree', '?')} sessions each, alternating (ABBA)"
    )


def _num(x: float | None, unit: str) -> str:
    if x is None:
        return "n/a"
    digits = 0 if unit == "/s" or abs(x) >= 100 else 2
    return f"{x:,.{digits}f}{'' if unit == '/s' else ' '}{unit}"


def baseline_rows(base: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(measure, "current / baseline = ratio (noise +-tol)", verdict) per compared figure."""
    out = []
    for name, got in (base.get("scenarios") or {}).items():
        if "error" in got:
            out.append((f"{name} against the baseline", got["error"], "FAIL"))
        for err in got.get("session_errors", []):
            out.append((f"{name} against the baseline", err, "session lost"))
        for f in got.get("figures", []):
            ratio = "n/a" if f["ratio"] is None else f"{f['ratio']:.2f}x"
            out.append(
                (
                    f["measure"],
                    f"{_num(f['current'], f['unit'])} / {_num(f['baseline'], f['unit'])}"
                    f" = {ratio} (noise +-{f['tolerance']:.0%})",
                    f["verdict"],
                )
            )
    return out


def _table(rows_: list[Row]) -> list[str]:
    lines = ["| Measure | Figure | Target | Verdict |", "|---|---|---|---|"]
    lines += [f"| {w} | {f} | {t} | {v} |" for w, f, t, v in rows_]
    return lines


COMPARING = (
    "Comparing with another revision: `make bench BASELINE=<rev>` (or `BENCH_BASELINE=<rev> "
    "python -m bench [SCENARIO ...]`, with `BENCH_QUICK=1` too) exports `<rev>` with `git "
    "archive` into the run's work directory and, in the same run, starts its Threadline (its "
    "own `bench/sut` and `server`, the same interpreter, pinning and flags) beside this "
    "tree's in the latency, throughput, http and widget scenarios: 1,000 readers (100 quick),"
    " the throughput steps, listing and posting on SQLite and PostgreSQL, and the widget's "
    "first paint in Chromium (each tree's own widget, server and measuring test). Sessions "
    "alternate current, baseline, baseline, current (`BENCH_BASELINE_SESSIONS` per tree, "
    "default 2), so a drift hits both. Per figure the summary prints current / baseline = "
    "ratio and `within noise` when the ratio lies inside the run's noise: the larger of the "
    "spread between one tree's own sessions and the floor `BENCH_BASELINE=HEAD` (the tree "
    "against itself) showed, or when the trees' sessions overlap (`bench/compare.py`). "
    "Results: `bench/results/baseline-<sha>.json`, and a Baseline comparison section here "
    "after a full run."
)


def write_markdown(results: dict[str, Any], path: Path, images: list[Path]) -> None:
    m = results["machine"]
    missed = [t for t in targets(results) if t.met is False]
    lines = [
        "# Threadline benchmarks",
        "",
        "Generated by `make bench` from `bench/results/latest.json`; rerun it to refresh "
        "(`BENCH_QUICK=1 make bench` for a two-minute run that leaves this page alone).",
        "",
        COMPARING,
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_mb']:,} MB, Python "
        f"{m['python']}, Redis {m['redis']}, {m['os']}.",
        "",
        "Method: the lean generator (raw RFC 6455 on uvloop, several processes, calibrated "
        "against the in-process ceiling) holds the readers on CPU 0 with Redis, PostgreSQL "
        "and the publishing process A; the measured process B runs alone on CPU 1. Events "
        "are 200-byte comments published on A on a fixed schedule; latency runs from the "
        "scheduled publish time to receipt, so a late publisher cannot hide (no coordinated "
        "omission). Points where the generator, Redis or the publisher used more than 85 % "
        "of a core are flagged and not counted. Peers run in their own virtualenv "
        "(`bench/peers-requirements.txt`) under the same uvicorn flags, two processes through "
        "the same Redis.",
        "",
        "## Targets",
        "",
        *_table([t.row() for t in targets(results)]),
        "",
    ]
    if missed:
        lines += ["## Missed targets and what is in the way", ""]
        for t in missed:
            lines.append(
                f"- **{t.measure}**: {t.figure} (target {t.target}). {EXPLAIN.get(t.key, '')}"
            )
        lines.append("")
    lines += [
        "## References and peers",
        "",
        *_table(reference_rows(results)),
        "",
        "## A hot page: posting",
        "",
        "50 connections (wrk) post unique comments, the server on one core: to one page from "
        "one address, to one page from 1,000 addresses (a trusted proxy header), and to 20 "
        "pages. CPU per post is the server process's and, on PostgreSQL, every process of the "
        "bench's own cluster; last / first compares the CPU per post of the run's last 10 % "
        "with its first (a cost growing as the page fills). Isso posts to one page in the "
        "same run.",
        "",
        *_table(hot_page_rows(results)),
        "",
        HOT_PAGE_FINDINGS,
        "",
        "## The full path: an HTTP POST to readers on another process",
        "",
        "A separate poster (on the rig's core) sends real `POST /api/v1/sites/bench/comments` "
        "requests to process A on an open-loop schedule; 1,000 readers on process B measure "
        "each frame from the POST's scheduled time: HTTP, validation, the PostgreSQL commit, "
        "the publish, Redis and B's fan-out. Bare `websockets` via Redis, publishing directly, "
        "is measured the same way in the same run. p99 at 10 posts/s is the median of three "
        "rounds; the highest rate is the last step (10 to 100/s) with p99 <= 100 ms and every "
        "frame delivered.",
        "",
        *_table(full_path_rows(results)),
        "",
        FULL_PATH_FINDINGS,
        "",
        "## Capacity: readers on one machine",
        "",
        "Readers join in steps (10,000, 25,000, 50,000) spread over 100 pages, from several "
        "loopback source addresses so ports never run out, and ping as the widget does; three "
        "reader processes behind one Redis on one core (this machine allows 20,000 open files "
        "a process, so two cannot hold 25,000 each), the publisher, PostgreSQL, Redis and the "
        "generator on the other. Each step reads the reader processes' memory per idle "
        "socket, then measures 10 s of one event per second on every page. A socket over "
        "20 KiB is traced (tracemalloc, in a separate server) to say where its bytes go.",
        "",
        *_table(readers_rows(results)),
        "",
        CAPACITY_FINDINGS,
        "",
        "## Reaction bursts",
        "",
        "Readers on process B, reactions arriving at process A (each from a reader and network "
        "of its own, half on one popular comment). Totals reach readers coalesced: at most one "
        "`reactions` frame per room per 500 ms, read from the database when sent. The reference "
        "is B's CPU per durable event to the same readers, in the same run.",
        "",
        *_table(reaction_rows(results)),
        "",
        "## Notifications on the write path",
        "",
        "Replies posted by wrk (50 connections, one server core) to 40 authored comments on one "
        "page, half of whose authors follow replies by e-mail and two the whole thread: each "
        "reply writes its parent author's notification and joins its followers' open mail, "
        "and rings a doorbell after commit. The reference is the same server and database "
        "with `THREADLINE_NOTIFICATIONS=off` in the same run: both servers up at once, each "
        "on its own copy of the seeded database, wrk posting to them in turn in 3 s windows "
        "(on, off, off, on...), and the ratio is the median of the pairs'.",
        "",
        *_table(notification_rows(results)),
        "",
        NOTIFICATIONS_FINDINGS,
        "",
        "## Redis Cluster: fan-out over shards",
        "",
        "Three processes of Threadline's broker (`bench/broker_worker.py`, the same "
        "`RedisBroker` `threadline serve` runs), each subscribed to every one of many pages and "
        "publishing event-sized messages round them as fast as its publisher takes them; every "
        "message reaches all three. Once over one Redis, once over a 3-master, 3-replica "
        "Redis Cluster (sharded pub/sub), in the same run. The broker is driven directly: "
        "whole servers would spend a database commit on each message first.",
        "",
        *_table(cluster_rows(results)),
        "",
        CLUSTER_FINDINGS,
        "",
        "## Correctness under load",
        "",
        *_table(check_rows(results)),
        "",
    ]
    base = results.get("baseline")
    if base:
        lines += [
            "## Baseline comparison",
            "",
            baseline_heading(base) + ": current / baseline, and whether the ratio lies within "
            "the run's noise (the larger of the spread between a tree's own sessions and the "
            "floor HEAD against itself showed).",
            "",
            "| Measure | Current / baseline | Verdict |",
            "|---|---|---|",
            *[f"| {w} | {f} | {v} |" for w, f, v in baseline_rows(base)],
            "",
        ]
    if images:
        lines += ["## Plots", ""]
        lines += [f"![{img.stem}]({img.relative_to(path.parent).as_posix()})" for img in images]
        lines.append("")
    took = {
        name: v.get("seconds") for name, v in results["scenarios"].items() if isinstance(v, dict)
    }
    lines += ["Scenario durations (s): " + ", ".join(f"{k} {v}" for k, v in took.items()), ""]
    path.write_text("\n".join(lines))


def merge_partial(earlier: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """A partial run replaces its own scenarios only: the rest, the machine they ran on and
    the baseline comparison stay the earlier run's, and each scenario measured now names its
    own machine when that is another one."""
    here = now["machine"].get("cpu")
    for figures in now["scenarios"].values():
        if isinstance(figures, dict) and here != earlier["machine"].get("cpu"):
            figures["machine"] = here
    merged = {**earlier, "scenarios": {**earlier["scenarios"], **now["scenarios"]}}
    if "baseline" in now:
        merged["baseline"] = now["baseline"]
    return merged
