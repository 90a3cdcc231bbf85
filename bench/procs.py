"""Processes for benchmarks: pinned to CPUs, logged, stopped by PID."""

from __future__ import annotations

import array
import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.harness import ROOT
from tests.support import logcheck
from tests.support.servers import session_log
from tests.support.services import free_port, stop, wait_port

UVICORN = [
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--ws",
    "websockets-sansio",
    "--ws-per-message-deflate",
    "false",
    "--workers",
    "1",
    "--no-access-log",
    "--ws-max-size",
    "65536",
]


def pinned(cpu: str | None, cmd: Sequence[str]) -> list[str]:
    return ["taskset", "-c", cpu, *cmd] if cpu is not None else list(cmd)


@dataclass
class Proc:
    """A server under test: any command that listens on ``port``."""

    cmd: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cpu: str | None = None
    port: int = field(default_factory=free_port)
    log: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    # The tree the command runs in: `python -m` puts it first on sys.path, so a baseline
    # tree exported by bench.baseline imports its own `bench` and `server`.
    cwd: Path = ROOT

    def start(self, timeout: float = 30) -> Proc:
        cmd = [part.replace("{port}", str(self.port)) for part in self.cmd]
        # Under pytest, in the session's log directory, which is checked for client addresses.
        self.log = session_log(self.log, "proc")
        out = open(self.log, "ab") if self.log else None  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                pinned(self.cpu, cmd),
                cwd=self.cwd,
                env={**os.environ, **self.env},
                stdout=out or subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
        finally:
            if out:
                out.close()
        wait_port(self.port, timeout, proc=self.proc)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        if self.proc is not None:
            stop(self.proc, signal.SIGKILL)

    def terminate(self) -> None:
        if self.proc is not None:
            stop(self.proc, signal.SIGTERM, timeout=10)

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.pid).cpu_times()
        return times.user + times.system

    def rss_kib(self) -> int:
        return int(psutil.Process(self.pid).memory_info().rss // 1024)


def threadline_serve(env: dict[str, str], log: Path, port: int | None = None) -> Proc:
    """This tree's ``threadline serve`` on CPU 1 with ``env`` (a bench server's settings),
    behind 127.0.0.1 as a trusted proxy (the load names its client in X-Forwarded-For)."""
    return Proc(
        [
            str(ROOT / ".venv" / "bin" / "threadline"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
        ],
        env={
            **env,
            "THREADLINE_TRUSTED_PROXIES": "127.0.0.1",
            "PATH": str(ROOT / ".venv" / "bin") + ":/usr/bin:/bin",
        },
        cpu="1",
        port=port or free_port(),
        log=log,
    )


def uvicorn(python: str, app: str, ws: str | None = None, **kwargs: Any) -> Proc:
    """``ws``: a websocket protocol class in place of uvicorn's own (``UVICORN``'s)."""
    # Quiet when measuring; at INFO under pytest, like every server the tests start.
    level = "warning" if logcheck.directory() is None else "info"
    options = list(UVICORN)
    if ws is not None:
        options[options.index("--ws") + 1] = ws
    return Proc(
        [
            python,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
            *options,
            "--log-level",
            level,
        ],
        **kwargs,
    )


@dataclass
class Measurement:
    latencies_us: array.array[int]
    per_message: dict[int, list[int]]
    connections: int
    expected: int
    generator_cpu: list[float]
    closed: int
    errors: int

    def percentile(self, q: float) -> float:
        if not self.latencies_us:
            return float("nan")
        data = sorted(self.latencies_us)
        return data[min(len(data) - 1, int(q * len(data)))] / 1000

    @property
    def delivered(self) -> int:
        return len(self.latencies_us)

    @property
    def delivery_ratio(self) -> float:
        want = self.expected * self.connections
        return self.delivered / want if want else 0.0

    def completion(self, q: float) -> float:
        """Fan-out completion: per message, when its last reader got it (ms)."""
        tails = sorted(v[1] for v in self.per_message.values())
        if not tails:
            return float("nan")
        return tails[min(len(tails) - 1, int(q * len(tails)))] / 1000


class Generator:
    """Children of bench.loadgen, each holding a share of the readers."""

    def __init__(
        self,
        adapter: str,
        port: int,
        pages: list[str],
        *,
        procs: int = 2,
        cpu: str | None = "0",
        source_addresses: list[str] | None = None,
    ) -> None:
        self.adapter, self.port, self.pages, self.procs, self.cpu = adapter, port, pages, procs, cpu
        # Loopback addresses the readers' sockets are bound to, in turn (bench.loadgen); None:
        # the kernel's choice, 127.0.0.1, whose ~28,000 ephemeral ports bound one run.
        self.source_addresses = source_addresses
        self.children: list[asyncio.subprocess.Process] = []
        self.ready = 0
        # Close frames the readers got, by code, over the last results (1013: too slow).
        self.close_codes: dict[str, int] = {}
        self.typing_every: float | None = None

    async def start(self, join_timeout: float = 60) -> int:
        shares = [self.pages[i :: self.procs] for i in range(self.procs)]
        for share in shares:
            if not share:
                continue
            fd, path = tempfile.mkstemp(suffix=".json")
            with os.fdopen(fd, "w") as fh:
                json.dump(
                    {
                        "adapter": self.adapter,
                        "host": "127.0.0.1",
                        "port": self.port,
                        "pages": share,
                        "join_timeout": join_timeout,
                        "typing_every": self.typing_every,
                        "source_addresses": self.source_addresses,
                    },
                    fh,
                )
            child = await asyncio.create_subprocess_exec(
                *pinned(self.cpu, [sys.executable, "-m", "bench.loadgen", path]),
                cwd=ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=2**27,
            )
            self.children.append(child)
        self.ready = 0
        for child in self.children:
            assert child.stdout is not None
            line = await asyncio.wait_for(child.stdout.readline(), join_timeout + 30)
            self.ready += json.loads(line)["ready"]
        return self.ready

    async def begin(self, seconds: float, expected: int) -> None:
        """Start recording (before the publisher starts, so nothing early is missed)."""
        self._expected = expected
        self._seconds = seconds
        for child in self.children:
            assert child.stdin is not None
            child.stdin.write(f"collect {seconds} {expected}\n".encode())
            await child.stdin.drain()
        await asyncio.sleep(0.05)

    async def collect(self, seconds: float, expected: int) -> Measurement:
        await self.begin(seconds, expected)
        return await self.results()

    async def results(self) -> Measurement:
        seconds, expected = self._seconds, self._expected
        merged = array.array("l")
        per_message: dict[int, list[int]] = {}
        cpus, closed, errors, conns = [], 0, 0, 0
        self.close_codes = {}
        for child in self.children:
            assert child.stdout is not None
            result = json.loads(await asyncio.wait_for(child.stdout.readline(), seconds + 60))
            merged.frombytes(base64.b64decode(result["latencies"]))
            for key, (count, worst) in result["per_message"].items():
                seen = per_message.setdefault(int(key), [0, 0])
                seen[0] += count
                seen[1] = max(seen[1], worst)
            cpus.append(result["cpu"])
            closed += result["closed"]
            for code, count in result.get("close_codes", {}).items():
                self.close_codes[code] = self.close_codes.get(code, 0) + count
            errors += result["errors"]
            conns += result["connections"]
        return Measurement(merged, per_message, conns, expected, cpus, closed, errors)

    async def stop(self) -> None:
        for child in self.children:
            if child.stdin is not None and not child.stdin.is_closing():
                child.stdin.write(b"quit\n")
                child.stdin.close()
        for child in self.children:
            try:
                await asyncio.wait_for(child.wait(), 10)
            except TimeoutError:
                child.kill()
        self.children = []


async def trigger(
    a_url: str, *, rate: float, count: int, page: str, size: int = 200, pages: int = 1
) -> None:
    params: dict[str, str | int | float] = {
        "rate": rate,
        "count": count,
        "page": page,
        "size": size,
    }
    if pages > 1:
        params["pages"] = pages
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.post(f"{a_url}/_bench/start", params=params)
        r.raise_for_status()
