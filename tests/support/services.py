"""Hermetic services for tests: a private redis-server and a private PostgreSQL cluster."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

REQUIRED = os.environ.get("THREADLINE_REQUIRE_SERVICES") == "1"


def unavailable(what: str) -> None:
    """Without the service: fail in CI (THREADLINE_REQUIRE_SERVICES=1), skip elsewhere."""
    if REQUIRED:
        pytest.fail(f"{what} is required (THREADLINE_REQUIRE_SERVICES=1) but missing")
    pytest.skip(f"{what} not available")


class Service(Protocol):
    """A service a test starts and stops (a Redis, a PostgreSQL cluster, a Sentinel set)."""

    def start(self) -> None: ...
    def stop(self) -> None: ...


S = TypeVar("S", bound=Service)


@contextlib.contextmanager
def running(service: S, missing: str | None) -> Iterator[S]:
    """``service`` started, and stopped after; without its program (``missing`` names it),
    failed in CI and skipped elsewhere (``unavailable``)."""
    if missing is not None:
        unavailable(missing)
    service.start()  # (each stops what it started if its start fails)
    try:
        yield service
    finally:
        service.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_port(
    port: int, timeout: float = 15.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.03)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port}")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class RedisServer:
    """A redis-server child process on a free port that tests may stop and restart."""

    def __init__(self, workdir: Path) -> None:
        self.exe = shutil.which("redis-server")
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def scratch_url(self) -> str:
        """An emptied database of its own (rate-limit counters left by other tests would
        count here otherwise); pub/sub is shared by every database anyway."""
        import redis

        url = f"redis://127.0.0.1:{self.port}/9"
        client = redis.Redis.from_url(url)
        try:
            client.flushdb()
        finally:
            client.close()
        return url

    def start(self) -> None:
        assert self.exe is not None
        self.proc = subprocess.Popen(
            [
                self.exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_port(self.port, proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, signal.SIGKILL)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


class PostgresCluster:
    """A throwaway cluster (initdb refuses root, so it runs as the postgres user).
    ``durable_commits``: a commit is acknowledged once its WAL is written, so it survives
    an ``immediate`` stop (the default acknowledges sooner, for speed)."""

    def __init__(self, *, durable_commits: bool = False) -> None:
        self.bindir = _pg_bindir()
        self.base = ""
        self.port = 0
        self.durable_commits = durable_commits

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    async def add_password_role(self, role: str, password: str) -> None:
        """A role that must log in with its password (every other role is trusted)."""
        import asyncpg

        hba = Path(self.base) / "data" / "pg_hba.conf"
        hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()

    def start(self) -> None:
        assert self.bindir is not None
        self.base = tempfile.mkdtemp(prefix="tl-pg-")
        as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
            as_user = ["runuser", "-u", "postgres", "--"]
        self._as_user = as_user
        data, self.port = os.path.join(self.base, "data"), free_port()
        subprocess.run(
            [
                *as_user,
                f"{self.bindir}/initdb",
                "-D",
                data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self._pg_ctl_start()

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        subprocess.run(
            [*self._as_user, f"{self.bindir}/pg_ctl", "-D", os.path.join(self.base, "data"), *args],
            check=check,
            stdout=subprocess.DEVNULL,
            timeout=60,
        )

    def _pg_ctl_start(self) -> None:
        opts = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
            f"-c fsync=off -c synchronous_commit={'on' if self.durable_commits else 'off'} "
            "-c full_page_writes=off -c max_connections=300"
        )
        self._pg_ctl("-l", f"{self.base}/server.log", "-w", "-o", opts, "start")

    def shut_down(self, mode: str = "fast") -> None:
        """Stop the server, keeping its data for ``start_again``: every client's connection
        is dropped. ``fast`` ends every session and checkpoints, so every commit survives;
        ``immediate`` is a crash, which the last commits survive only with
        ``durable_commits``."""
        assert self.base, "start() first"
        self._pg_ctl("-m", mode, "-w", "stop")

    def start_again(self) -> None:
        """Start it on the same port and data directory."""
        self._pg_ctl_start()

    def restart(self, *, down: float = 1.0, mode: str = "fast") -> None:
        """Shut down, ``down`` seconds without a database, then start again."""
        self.shut_down(mode)
        time.sleep(down)
        self.start_again()

    def stop(self) -> None:
        if not self.base:
            return
        self._pg_ctl("-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.base, ignore_errors=True)


def _pg_bindir() -> str | None:
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(cand, "initdb")):
            return cand
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class SentinelSet:
    """A master, its replica and three sentinels (quorum 2) on loopback: the setup Sentinel
    needs to fail over, each node a ``redis-server`` child on a free port of its own."""

    SERVICE = "tl"

    def __init__(self, workdir: Path) -> None:
        self.exe = shutil.which("redis-server")
        self.workdir = workdir
        self.master_port, self.replica_port = free_port(), free_port()
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        nodes = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{nodes}/{self.SERVICE}"

    def _node(self, port: int, *extra: str) -> None:
        assert self.exe is not None
        self.procs[port] = subprocess.Popen(
            [self.exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", *extra],
            stdout=subprocess.DEVNULL,
            cwd=self.workdir,
        )
        wait_port(port, proc=self.procs[port])

    def start(self) -> None:
        """Every node up, the replica known to every sentinel and every sentinel to the
        others (without that there is no quorum to fail over); on any failure, all down."""
        assert self.exe is not None
        try:
            self._node(self.master_port, "--appendonly", "no")
            self._node(self.replica_port, "--replicaof", "127.0.0.1", str(self.master_port))
            for port in self.sentinel_ports:
                conf = self.workdir / f"sentinel-{port}.conf"  # sentinels rewrite their file
                conf.write_text(
                    f"port {port}\nbind 127.0.0.1\ndir {self.workdir}\n"
                    f"sentinel monitor {self.SERVICE} 127.0.0.1 {self.master_port} 2\n"
                    f"sentinel down-after-milliseconds {self.SERVICE} 1000\n"
                    f"sentinel failover-timeout {self.SERVICE} 3000\n"
                )
                self.procs[port] = subprocess.Popen(
                    [self.exe, str(conf), "--sentinel"], stdout=subprocess.DEVNULL
                )
                wait_port(port, proc=self.procs[port])
            self.wait_until(self._ready)
        except BaseException:
            self.stop()
            raise

    def _ask(self, port: int, *command: str) -> object:
        import redis

        client = redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1)
        try:
            return client.execute_command(*command)  # type: ignore[no-untyped-call]
        finally:
            client.close()

    def _state(self, port: int) -> dict[str, str]:
        """The sentinel's view of the master, names and values as text (redis-py's reply
        parsing differs between versions: a dict, or the flat list of pairs)."""
        raw = self._ask(port, "SENTINEL", "MASTER", self.SERVICE)
        if isinstance(raw, dict):
            return {_text(k): _text(v) for k, v in raw.items()}
        assert isinstance(raw, list)
        return {_text(raw[i]): _text(raw[i + 1]) for i in range(0, len(raw) - 1, 2)}

    def _ready(self) -> bool:
        import redis

        try:
            for port in self.sentinel_ports:
                state = self._state(port)
                if int(state["num-slaves"]) < 1 or int(state["num-other-sentinels"]) < 2:
                    return False
        except redis.RedisError:
            return False
        return True

    def master(self) -> int | None:
        """The port the sentinels name as the master now (the first that answers)."""
        import redis

        for port in self.sentinel_ports:
            try:
                found = self._ask(port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.SERVICE)
            except redis.RedisError:
                continue
            if isinstance(found, (list, tuple)) and len(found) == 2:
                return int(found[1])
        return None

    def subscribers(self, port: int) -> int:
        """How many pub/sub connections the node at ``port`` holds, besides the sentinels'
        own (they subscribe to every node they watch)."""
        listed = self._ask(port, "CLIENT", "LIST", "TYPE", "pubsub")
        if isinstance(listed, list):  # parsed, one dict a client (some redis-py versions)
            names = [_text(client.get("name", "")) for client in listed]
        else:  # the server's text, a line a client
            names = [
                dict(field.partition("=")[::2] for field in line.split()).get("name", "")
                for line in _text(listed).splitlines()
                if line.strip()
            ]
        return len([name for name in names if not name.startswith("sentinel")])

    def wait_until(self, done: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise RuntimeError("the sentinels did not get there in time")
            time.sleep(0.1)

    def kill(self, port: int) -> None:
        proc = self.procs.pop(port, None)
        if proc is not None:
            stop(proc, signal.SIGKILL)

    def stop(self) -> None:
        for port in list(self.procs):
            try:
                self.kill(port)
            except Exception:  # noqa: BLE001 -- every node goes, whatever one does
                continue
