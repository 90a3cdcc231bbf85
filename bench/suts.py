"""The systems under test, started the same way: uvicorn, same flags, same CPU pinning.

B (the fan-out process being measured) runs alone on CPU 1; A (the publisher), Redis,
PostgreSQL and the load generator share CPU 0."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from bench.harness import ROOT, Services
from bench.procs import Proc, uvicorn

if TYPE_CHECKING:
    from bench.baseline import Tree

PEERS_PYTHON = str(ROOT / "bench" / ".venv-peers" / "bin" / "python")
B_CPU, A_CPU = "1", "0"
THREADLINE_WS = "server.runtime.websocket_protocol:WebSocketProtocol"
THREADLINE_WS_FILE = "server/runtime/websocket_protocol.py"


@dataclass
class Sut:
    name: str
    adapter: str
    kind: str  # threadline | bare | null | peer | asgi
    module: str = ""
    env: dict[str, str] = field(default_factory=dict)
    # Another revision's tree (BENCH_BASELINE): its own bench/sut and server, run from there.
    tree: Tree | None = None

    @property
    def cwd(self) -> Path:
        return self.tree.root if self.tree is not None else ROOT

    async def start(self, services: Services, *, a: bool = True) -> tuple[Proc | None, Proc]:
        # A revision may hold a "/" or a ".": the baseline's logs are named by its commit.
        log = services.work / (f"threadline-{self.tree.slug}" if self.tree else self.name)
        if self.kind == "threadline" and self.tree is not None:
            db = await services.database("postgresql", migrated=False)
            env = services.server(db).env
            await asyncio.to_thread(self.tree.prepare, env)
        elif self.kind == "threadline":
            db = await services.database("postgresql")
            store = await services.site(db, "bench")
            await store.close()
            env = services.server(db).env
        if self.kind == "threadline":
            # What `threadline serve` runs (server/runtime/serve.py), where the tree has it.
            ws = THREADLINE_WS if (self.cwd / THREADLINE_WS_FILE).exists() else None
            pa = (
                uvicorn(
                    sys.executable,
                    "bench.sut.threadline_app:app",
                    ws=ws,
                    env=env,
                    cpu=A_CPU,
                    log=log.with_suffix(".a.log"),
                    cwd=self.cwd,
                )
                if a
                else None
            )
            pb = uvicorn(
                sys.executable,
                "bench.sut.threadline_app:app",
                ws=ws,
                env=env,
                cpu=B_CPU,
                log=log.with_suffix(".b.log"),
                cwd=self.cwd,
            )
        elif self.kind in ("bare", "null"):
            port = str(services.redis.port)
            role_b = "b" if self.kind == "bare" else "null"
            pa = (
                Proc([sys.executable, "-m", "bench.sut.bare", "a", "{port}", port], cpu=A_CPU)
                if a and self.kind == "bare"
                else None
            )
            pb = Proc([sys.executable, "-m", "bench.sut.bare", role_b, "{port}", port], cpu=B_CPU)
        elif self.kind == "asgi":
            pa = None
            pb = uvicorn(sys.executable, "bench.sut.asgi_app:app", cpu=B_CPU)
        else:
            env = {"BENCH_REDIS_URL": services.redis.url, **self.env}
            pa = (
                uvicorn(
                    PEERS_PYTHON, self.module, env=env, cpu=A_CPU, log=log.with_suffix(".a.log")
                )
                if a
                else None
            )
            pb = uvicorn(
                PEERS_PYTHON, self.module, env=env, cpu=B_CPU, log=log.with_suffix(".b.log")
            )
        if pa is not None:
            pa.start()
        pb.start()
        return pa, pb


THREADLINE = Sut("threadline", "threadline", "threadline")


def threadline_from(tree: Tree) -> Sut:
    """The same system under test, from another revision's exported tree."""
    return replace(THREADLINE, name=f"threadline @ {tree.label}", tree=tree)


BARE = Sut("websockets via Redis", "bare", "bare")
NULL = Sut("websockets in-process", "null", "null")
RAW_ASGI = Sut("raw ASGI (uvicorn)", "asgi", "asgi")
BROADCASTER = Sut("broadcaster", "broadcaster", "peer", "bench.sut.broadcaster_app:app")
SOCKETIO = Sut("python-socketio", "socketio", "peer", "bench.sut.socketio_app:app")
CHANNELS = Sut(
    "channels (RedisChannelLayer)",
    "channels",
    "peer",
    "bench.sut.channels_app:app",
    {"BENCH_LAYER": "core"},
)
CHANNELS_PUBSUB = Sut(
    "channels (RedisPubSubChannelLayer)",
    "channels",
    "peer",
    "bench.sut.channels_app:app",
    {"BENCH_LAYER": "pubsub"},
)
PEERS = [BROADCASTER, SOCKETIO, CHANNELS, CHANNELS_PUBSUB]
