"""Real uvicorn processes running Threadline, as an operator would run them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import logcheck
from tests.support.services import free_port, stop, wait_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ServerProcess:
    """``log`` names the file the process writes; in a test session it always lies in the
    session's log directory (``log``'s stem, if given, names it), which is checked for
    client addresses at the end."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def command(self) -> list[str]:
        # `threadline serve` itself, so the production uvicorn options are what we test.
        return [
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]

    def start(self) -> ServerProcess:
        self.log = session_log(self.log, "server")
        env = {**os.environ, **self.env}
        out = open(self.log, "ab") if self.log else None  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=ROOT,
                env=env,
                stdout=out or subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
        finally:
            if out is not None:
                out.close()  # the child has its own descriptor
        wait_port(self.port, timeout=30, proc=self.proc)
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, like a crash or an OOM kill."""
        if self.proc is not None:
            stop(self.proc, signal.SIGKILL)

    def terminate(self) -> int:
        assert self.proc is not None
        stop(self.proc, signal.SIGTERM, timeout=20)
        return self.proc.returncode

    def restart(self) -> ServerProcess:
        self.kill()
        return self.start()


def session_log(log: Path | None, stem: str) -> Path | None:
    """``log`` moved into the session's log directory (once: a restart appends)."""
    directory = logcheck.directory()
    if directory is None or (log is not None and log.parent == directory):
        return log
    return logcheck.new_log(log.stem if log is not None else stem)
