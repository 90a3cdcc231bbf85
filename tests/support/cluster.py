"""A hermetic Redis Cluster for tests: six redis-server children, three masters with a replica
each, on free loopback ports of their own."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.support.services import free_port, stop, wait_port

SLOTS = 16384
NODE_TIMEOUT_MS = 1000
DOWN = frozenset({"fail", "fail?", "noaddr", "handshake"})  # CLUSTER NODES flags of no use


@dataclass(frozen=True)
class Node:
    """One line of CLUSTER NODES: who a node is, what it serves and whom it replicates."""

    id: str
    port: int
    flags: frozenset[str]
    master_id: str | None
    slots: frozenset[int]

    @property
    def up(self) -> bool:
        return not self.flags & DOWN

    @property
    def is_master(self) -> bool:
        return "master" in self.flags and self.up

    @classmethod
    def parse(cls, line: str) -> Node:
        """``<id> <ip:port@bus[,host]> <flags> <master|-> <ping> <pong> <epoch> <link> <slot>...``;
        slots are ``N`` or ``A-B``; a migration (``[N->-id]``) is not served yet."""
        fields = line.split()
        address = fields[1].split("@")[0]
        slots: set[int] = set()
        for served in fields[8:]:
            if served.startswith("["):
                continue
            first, _, last = served.partition("-")
            slots.update(range(int(first), int(last or first) + 1))
        return cls(
            id=fields[0],
            port=int(address.rpartition(":")[2]),
            flags=frozenset(fields[2].split(",")),
            master_id=None if fields[3] == "-" else fields[3],
            slots=frozenset(slots),
        )


class RedisClusterSet:
    """Three masters and three replicas, made a cluster by ``redis-cli --cluster create``; a
    killed master's replica takes its slots over about 2 s later (``cluster-node-timeout`` 1 s).

    ``exe`` is None without ``redis-server`` or ``redis-cli``: callers then call
    ``unavailable("redis-server")``."""

    SIZE = 6

    def __init__(self, workdir: Path, *, password: str | None = None) -> None:
        self.password = password  # every node's (requirepass, and masterauth for replicas)
        found = shutil.which("redis-server")
        self.cli = shutil.which("redis-cli")
        self.exe = found if self.cli is not None else None
        self.workdir = workdir
        # Each node's cluster bus gets a free port too (the default, port + 10000, may be taken
        # or past 65535).
        ports: list[int] = []
        while len(ports) < 2 * self.SIZE:
            port = free_port()
            if port not in ports:
                ports.append(port)
        self.ports, self.bus_ports = ports[: self.SIZE], ports[self.SIZE :]
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self._orphans: dict[int, tuple[frozenset[int], int | None]] = {}

    @property
    def url(self) -> str:
        seeds = ",".join(f"127.0.0.1:{port}" for port in self.ports[:3])
        secret = f":{self.password}@" if self.password else ""
        return f"redis+cluster://{secret}{seeds}"

    def start(self) -> None:
        """Every node up, every slot served, every master's replica in sync and the whole
        topology known to every node (a master votes for a replica only if it knows it as
        one); on any failure, all down."""
        assert self.exe is not None and self.cli is not None
        try:
            for port, bus in zip(self.ports, self.bus_ports, strict=True):
                self._node(port, bus)
            for port in self.ports:
                wait_port(port, proc=self.procs[port])
            created = subprocess.run(
                [
                    self.cli,
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{port}" for port in self.ports),
                    "--cluster-replicas",
                    "1",
                    "--cluster-yes",
                    *(["-a", self.password, "--no-auth-warning"] if self.password else []),
                ],
                capture_output=True,
                timeout=60,
                check=False,
            )
            if created.returncode != 0:
                said = (created.stdout + created.stderr).decode(errors="replace")
                raise RuntimeError(f"redis-cli --cluster create failed:\n{said}")
            self.wait_until(self._ready)
        except BaseException:
            self.stop()
            raise

    def _node(self, port: int, bus: int) -> None:
        assert self.exe is not None
        home = self.workdir / str(port)
        home.mkdir(parents=True, exist_ok=True)
        self.procs[port] = subprocess.Popen(
            [
                self.exe,
                "--port",
                str(port),
                "--cluster-port",
                str(bus),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(home),
                "--logfile",
                "node.log",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                str(NODE_TIMEOUT_MS),
                # A replica fails over however long its link to the master was down.
                "--cluster-replica-validity-factor",
                "0",
                "--save",
                "",
                "--appendonly",
                "no",
                # Replicas sync at once, not after the diskless sync's 5 s wait for company.
                "--repl-diskless-sync-delay",
                "0",
                *(
                    ["--requirepass", self.password, "--masterauth", self.password]
                    if self.password
                    else []
                ),
            ],
            stdout=subprocess.DEVNULL,
            cwd=home,
        )

    def _ask(self, port: int, *command: str) -> object:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client = redis.Redis(
            port=port,
            socket_timeout=1,
            socket_connect_timeout=1,
            decode_responses=True,
            retry=Retry(NoBackoff(), 0),  # a dead node is reported at once
            password=self.password,
        )
        try:
            return client.execute_command(*command)  # type: ignore[no-untyped-call]
        finally:
            client.close()

    def _live(self) -> list[int]:
        return [port for port, proc in self.procs.items() if proc.poll() is None]

    def _info(self, port: int, section: str) -> dict[str, object]:
        found = self._ask(port, "INFO", section)  # parsed by redis-py: names to values
        assert isinstance(found, dict)
        return {str(name): value for name, value in found.items()}

    def _cluster_info(self, port: int) -> dict[str, str]:
        text = str(self._ask(port, "CLUSTER", "INFO"))
        return dict(line.strip().partition(":")[::2] for line in text.splitlines() if line)

    def _nodes(self, port: int) -> list[Node]:
        text = str(self._ask(port, "CLUSTER", "NODES"))
        return [Node.parse(line) for line in text.splitlines() if line.strip()]

    def _view(self) -> list[Node]:
        """CLUSTER NODES as the first live node that answers sees it."""
        import redis

        for port in self._live():
            try:
                return self._nodes(port)
            except redis.RedisError:
                continue
        raise RuntimeError("no node of the cluster answers")

    def _ready(self) -> bool:
        import redis

        try:
            for port in self.ports:
                info = self._cluster_info(port)
                if info.get("cluster_state") != "ok" or info.get("cluster_slots_ok") != str(SLOTS):
                    return False
                nodes = self._nodes(port)
                masters = [node for node in nodes if node.is_master and node.slots]
                replicas = {node.master_id for node in nodes if node.up and node.master_id}
                if len(nodes) != self.SIZE or len(masters) != self.SIZE // 2:
                    return False
                if any(master.id not in replicas for master in masters):
                    return False
                me = next(node for node in nodes if "myself" in node.flags)
                link = self._info(port, "replication").get("master_link_status", "up")
                if "slave" in me.flags and link != "up":
                    return False
        except redis.RedisError:
            return False
        return True

    def masters(self) -> list[int]:
        """Ports of the nodes that are masters now, failed and killed ones left out."""
        live = set(self._live())
        return sorted(node.port for node in self._view() if node.is_master and node.port in live)

    def master_of(self, key_or_channel: str) -> int:
        """The port of the master serving that key's (or shard channel's) slot now."""
        import redis

        for port in self._live():
            try:
                slot = self._ask(port, "CLUSTER", "KEYSLOT", key_or_channel)
            except redis.RedisError:
                continue
            assert isinstance(slot, int)
            for node in self._view():
                if node.is_master and slot in node.slots:
                    return node.port
            raise RuntimeError(f"no master serves slot {slot} now")
        raise RuntimeError("no node of the cluster answers")

    def move_slot(self, key_or_channel: str, to_port: int) -> None:
        """Hand the (keyless) slot of ``key_or_channel`` to the master at ``to_port`` as
        ``redis-cli --cluster reshard`` does: importing on the target, migrating on the
        source, then the new owner everywhere, with the target's epoch bumped so its claim
        wins in gossip (replicas learn it from there). The old owner then lets go of its
        subscribers with SUNSUBSCRIBE."""
        slot = self._ask(to_port, "CLUSTER", "KEYSLOT", key_or_channel)
        assert isinstance(slot, int)
        nodes = self._view()
        target = next(node for node in nodes if node.port == to_port)
        source_port = self.master_of(key_or_channel)
        source = next(node for node in nodes if node.port == source_port)
        self._ask(to_port, "CLUSTER", "SETSLOT", str(slot), "IMPORTING", source.id)
        self._ask(source_port, "CLUSTER", "SETSLOT", str(slot), "MIGRATING", target.id)
        others = [port for port in self.masters() if port not in (to_port, source_port)]
        for port in [to_port, source_port, *others]:
            self._ask(port, "CLUSTER", "SETSLOT", str(slot), "NODE", target.id)
        self._ask(to_port, "CLUSTER", "BUMPEPOCH")
        live = set(self._live())
        self.wait_until(
            lambda: all(
                self._owner_seen_by(port, slot) == target.id for port in self.ports if port in live
            )
        )

    def _owner_seen_by(self, port: int, slot: int) -> str | None:
        """The id of the master that node ``port`` believes serves ``slot``."""
        return next(
            (node.id for node in self._nodes(port) if node.is_master and slot in node.slots),
            None,
        )

    def replica_of(self, port: int) -> int | None:
        """The port of a live replica of the master at ``port``, None without one."""
        nodes = self._view()
        master = next((node for node in nodes if node.port == port), None)
        if master is None:
            return None
        live = set(self._live())
        return next(
            (n.port for n in nodes if n.master_id == master.id and n.up and n.port in live), None
        )

    def kill(self, port: int) -> None:
        """SIGKILL the node; a master's slots and replica are noted for ``wait_promoted``."""
        import redis

        try:
            node = next((n for n in self._view() if n.port == port), None)
        except (redis.RedisError, RuntimeError):
            node = None
        if node is not None and node.is_master:
            self._orphans[port] = (node.slots, self.replica_of(port))
        self._end(port)

    def _end(self, port: int) -> None:
        proc = self.procs.pop(port, None)
        if proc is not None:
            stop(proc, signal.SIGKILL)

    def wait_promoted(self, killed_port: int, timeout: float = 30.0) -> int:
        """Wait until the killed master's former replica serves all its slots in every live
        node's view and every live node says cluster_state:ok; return the new master's port."""
        if killed_port not in self._orphans:
            raise ValueError(f"{killed_port} was not a master when it was killed")
        slots, replica = self._orphans[killed_port]
        if replica is None:
            raise ValueError(f"the master at {killed_port} had no replica to promote")

        def promoted() -> bool:
            import redis

            try:
                for port in self._live():
                    if self._cluster_info(port).get("cluster_state") != "ok":
                        return False
                    new = next((n for n in self._nodes(port) if n.port == replica), None)
                    if new is None or not new.is_master or not slots <= new.slots:
                        return False
            except redis.RedisError:
                return False
            return True

        self.wait_until(promoted, timeout)
        return replica

    def command_calls(self, port: int) -> dict[str, int]:
        """INFO commandstats of that node: command name (``cluster|nodes`` for a subcommand)
        to calls since it started or ``reset_stats``."""
        stats = self._info(port, "commandstats")
        calls: dict[str, int] = {}
        for name, figures in stats.items():
            assert isinstance(figures, dict)
            calls[name.removeprefix("cmdstat_")] = int(figures["calls"])
        return calls

    def shard_channels(self, port: int) -> set[str]:
        """The shard channels someone is subscribed to on that node (PUBSUB SHARDCHANNELS)."""
        found = self._ask(port, "PUBSUB", "SHARDCHANNELS")
        assert isinstance(found, list)
        return {str(channel) for channel in found}

    def reset_stats(self) -> None:
        """CONFIG RESETSTAT on every live node (commandstats start again from zero)."""
        import redis

        for port in self._live():
            try:
                self._ask(port, "CONFIG", "RESETSTAT")
            except redis.RedisError:
                continue

    def wait_until(self, done: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the cluster did not get there in time (logs: {self.workdir})")
            time.sleep(0.1)

    def stop(self) -> None:
        """Every node killed; their directories stay, the test's tmp dir owns them."""
        for port in list(self.procs):
            try:
                self._end(port)
            except Exception:  # noqa: BLE001 -- every node goes, whatever one does
                continue
