"""Posting with notifications on and off (issue 18): what telling readers costs the write path.

The scenario readers hit: one hot page whose 40 comments have authors, half of whom asked by
e-mail to hear of replies and two of whom follow the whole thread; wrk posts replies to them
round-robin (each reply writes a notification for its parent's author, and outbox rows for the
e-mail followers; a reader's doorbell rings after commit). The reference, in the same run on
the same database: the same server with ``THREADLINE_NOTIFICATIONS=off``. Both run at once,
each on its own copy of the seeded database, and wrk posts to them in turn in short windows
(on, off, then off, on...); the ratio is the median of the pairs': a drift (the machine
warming, other tenants of its cores, the tables growing) hits both halves of a pair alike."""

from __future__ import annotations

import asyncio
import itertools
import re
import shutil
import statistics
import time
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from bench.harness import ORIGIN, QUICK, Services
from bench.procs import Proc, threadline_serve
from bench.scenarios_hot_page import posting_window
from tests.support.services import free_port

PAGE = "hot-replies"
AUTHORS = 40
MAIL_FOLLOWERS = 20  # of the authors, those who follow replies to their comment by e-mail
THREAD_FOLLOWERS = 2
METRICS_TOKEN = "bench-metrics-token"
LINK = re.compile(r"https?://\S+?/mail/confirm\?t=[A-Za-z0-9._\-]+")

REPLY_LUA = """
local counter = 0
local tag = tostring(math.random(1, 1000000000))
local parents = {%(parents)s}
request = function()
  counter = counter + 1
  local body = string.format('{"page":"%(page)s","parent":%%d,"body":"reply %%s-%%d"}',
    parents[counter %% #parents + 1], tag, counter)
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json"}, body)
end
"""


class Sink:
    """A real SMTP server (aiosmtpd) that keeps what it is sent."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        self.messages.append(message_from_bytes(content))
        return "250 OK"

    def links(self) -> list[str]:
        found: list[str] = []
        for message in self.messages:
            for part in message.walk():
                if part.get_content_type() == "text/plain":
                    payload = part.get_payload(decode=True)
                    if isinstance(payload, bytes):
                        found += LINK.findall(payload.decode("utf-8", "replace"))
        return found


async def _fanout_busy(url: str) -> tuple[float, float]:
    """The server's fan-out so far: (seconds in its batches, comments it read)."""
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.get(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        r.raise_for_status()
    values = dict(line.rsplit(" ", 1) for line in r.text.splitlines() if line[:1] not in "#")
    return (
        float(values["threadline_notify_transaction_seconds_total"]),
        float(values["threadline_notify_comments_total"]),
    )


def _server(services: Services, db: str, smtp_port: int, notifications: str) -> Proc:
    port = free_port()
    env = services.server(db, redis=False).env
    env.update(
        {
            "THREADLINE_NOTIFICATIONS": notifications,
            "THREADLINE_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "THREADLINE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "THREADLINE_METRICS_TOKEN": METRICS_TOKEN,
        }
    )
    # Each seeded author on a network of their own (X-Forwarded-For), as readers are.
    return threadline_serve(env, services.work / f"notify-{notifications}.log", port)


async def _seed(url: str, sink: Sink) -> list[int]:
    """40 authored comments; e-mail followers subscribe and confirm through their mail."""
    parents: list[int] = []
    async with httpx.AsyncClient(base_url=url, timeout=30, headers={"Origin": ORIGIN}) as http:
        for i in range(AUTHORS):
            network = {"X-Forwarded-For": f"100.64.{i}.9"}
            r = await http.post(
                "/api/v1/sites/bench/comments",
                json={"page": PAGE, "name": f"Author {i}", "body": f"Question {i} about this."},
                headers=network,
            )
            r.raise_for_status()
            comment_id, token = int(r.json()["comment"]["id"]), r.json()["author_token"]
            parents.append(comment_id)
            scopes = (["replies"] if i < MAIL_FOLLOWERS else []) + (
                ["thread"] if i < THREAD_FOLLOWERS else []
            )
            for scope in scopes:
                r = await http.post(
                    f"/api/v1/sites/bench/comments/{comment_id}/subscribe",
                    json={"email": f"reader{i}@example.org", "scope": scope},
                    headers={"Authorization": f"Bearer {token}", **network},
                )
                r.raise_for_status()
        # Each address gets one confirmation; its link confirms what the address asked for.
        deadline = time.monotonic() + 30
        while len(set(sink.links())) < MAIL_FOLLOWERS and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        links = sorted(set(sink.links()))
        if len(links) < MAIL_FOLLOWERS:
            raise RuntimeError(f"only {len(links)} confirmation e-mails of {MAIL_FOLLOWERS}")
        for link in links:
            token = link.split("t=", 1)[1]
            r = await http.post("/mail/confirm", data={"t": token})
            r.raise_for_status()
        # One reply to each: every follower's first e-mail goes now, so the measured
        # sessions see the steady state (each follower's replies gather into its digest).
        before = len(sink.messages)
        for parent in parents:
            r = await http.post(
                "/api/v1/sites/bench/comments",
                json={"page": PAGE, "parent": parent, "body": "A first answer."},
            )
            r.raise_for_status()
        first_mails = MAIL_FOLLOWERS + THREAD_FOLLOWERS
        deadline = time.monotonic() + 30
        while len(sink.messages) < before + first_mails and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    return parents


async def notification_posting(
    services: Services, *, seconds: int = 0, sessions: int = 0, backend: str = "postgresql"
) -> dict[str, Any]:
    """Reply posting rate with notifications on and off, alternating sessions."""
    seconds = seconds or (2 if QUICK else 3)
    sessions = sessions or (2 if QUICK else 20)
    sink = Sink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        db = await services.database(backend)
        store = await services.site(db, "bench")
        await store.close()
        seeding = _server(services, db, smtp_port, "on").start()
        try:
            parents = await _seed(seeding.url, sink)
        finally:
            seeding.terminate()
        script = REPLY_LUA % {
            "parents": ", ".join(str(p) for p in parents),
            "page": PAGE,
            "path": "/api/v1/sites/bench/comments",
        }
        rates: dict[str, list[float]] = {"on": [], "off": []}
        p99: dict[str, list[float]] = {"on": [], "off": []}
        cpu: dict[str, list[float]] = {"on": [], "off": []}  # server + database, per post
        errors = 0
        pairs: list[float] = []  # each session's on / off, the two run back to back
        busy: list[float] = []  # the share of each on session the fan-out's batches took
        told = 0.0
        # Both servers up at once, each on its own copy of the seeded database, and wrk
        # posting to one, then the other, in short windows (on, off, off, on...): what the
        # machine does meanwhile (its other tenants, its clock) hits both arms of a pair
        # within seconds of each other, and no window pays a server's start.
        servers: dict[str, Proc] = {}
        try:
            for arm in ("on", "off"):
                copy = await _copy_of(services, backend, db)
                servers[arm] = _server(services, copy, smtp_port, arm).start()
            for n in range(sessions):
                for arm in ("on", "off") if n % 2 == 0 else ("off", "on"):
                    server = servers[arm]
                    busy_before = await _fanout_busy(server.url)
                    figures = await asyncio.to_thread(
                        posting_window, server, services, script, seconds
                    )
                    await asyncio.sleep(0.6)  # the window's last batch (gathered 0.25 s)
                    busy_after = await _fanout_busy(server.url)
                    if arm == "on":
                        busy.append((busy_after[0] - busy_before[0]) / seconds)
                        told += busy_after[1] - busy_before[1]
                    rates[arm].append(figures["requests_per_s"] or 0.0)
                    p99[arm].append(figures["p99_ms"] or 0.0)
                    errors += figures["non_2xx"]
                    if figures["server_us_per_post"] is not None:
                        cpu[arm].append(
                            figures["server_us_per_post"] + (figures["db_us_per_post"] or 0)
                        )
                if rates["off"][-1]:
                    pairs.append(rates["on"][-1] / rates["off"][-1])
        finally:
            for server in servers.values():
                server.terminate()
        mails = len(sink.messages)
    finally:
        controller.stop()
    on, off = statistics.median(rates["on"]), statistics.median(rates["off"])
    return {
        "backend": backend,
        "seconds": seconds,
        "sessions_per_arm": len(rates["on"]),
        "posts_per_s_on": round(on, 1),
        "posts_per_s_off": round(off, 1),
        "each_on": [round(r, 1) for r in rates["on"]],
        "each_off": [round(r, 1) for r in rates["off"]],
        "p99_ms_on": round(statistics.median(p99["on"]), 1),
        "p99_ms_off": round(statistics.median(p99["off"]), 1),
        # The median of the pairs' ratios: each pair ran back to back, so what drifts over
        # the run (the machine, the other tenants of its cores) cancels within a pair.
        "ratio": round(statistics.median(pairs), 3) if pairs else None,
        "pair_ratios": [round(r, 3) for r in pairs],
        # CPU the server and the database spent per post (microseconds, median session):
        # steadier than the rate, whose sessions swing with what else the cores run.
        "cpu_us_per_post_on": round(statistics.median(cpu["on"])) if cpu["on"] else None,
        "cpu_us_per_post_off": round(statistics.median(cpu["off"])) if cpu["off"] else None,
        # The fan-out's transactions (BEGIN to COMMIT) over the session's wall time: on
        # SQLite, where a transaction runs on the event loop without yielding until its
        # commit, close to its share of the loop; on PostgreSQL mostly waits, during which
        # the loop serves posts.
        "fanout_share": round(statistics.median(busy), 4) if busy else None,
        "fanout_comments": round(told),
        "non_2xx": errors,
        "emails_sent": mails,
    }


_copies = itertools.count(1)


async def _copy_of(services: Services, backend: str, db: str) -> str:
    """A fresh copy of the seeded database ``db``."""
    n = next(_copies)
    if backend == "sqlite":
        source = Path(db.removeprefix("sqlite:///"))
        target = source.with_name(f"{source.stem}-copy{n}.db")
        await asyncio.to_thread(shutil.copyfile, source, target)
        return f"sqlite:///{target}"
    template = db.rsplit("/", 1)[1].split("?", 1)[0]
    conn = await asyncpg.connect(services.pg.admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{template}_copy{n}" TEMPLATE "{template}"')
    finally:
        await conn.close()
    return services.pg.url(f"{template}_copy{n}")


async def notification_bench(services: Services) -> dict[str, Any]:
    """`make bench`'s scenario: both stores, each against itself with notifications off."""
    return {
        "runs": [
            await notification_posting(services, backend="sqlite"),
            await notification_posting(services, backend="postgresql"),
        ]
    }
