"""`make run` as the README tells a newcomer to use it: `PORT=... make run` serves the demo
page on that port (the demo site admits it, even when an earlier run registered the site on
another), says so in a few lines, and Ctrl-C stops it without a traceback."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import logcheck
from tests.support.servers import ROOT
from tests.support.services import free_port, unavailable, wait_port

pytestmark = pytest.mark.slow


def _restore_ctrl_c() -> None:
    # A terminal's Ctrl-C reaches make and the server with SIGINT's default action; a
    # background test runner may have inherited it ignored.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_port_make_run_serves_the_demo_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        unavailable("make")
    port, venv, log = free_port(), Path(sys.prefix), tmp_path / "make-run.log"
    logcheck.adopt(log)  # checked for client addresses with every other server's log
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("THREADLINE_") and k not in ("HOST", "PORT", "MAKEFLAGS")
    }
    env.update(PORT=str(port), THREADLINE_DATA_DIR=str(tmp_path / "data"))
    # This test's own virtualenv, never reinstalled (-o: take .installed-run as done).
    command = [
        "make",
        "--no-print-directory",
        "run",
        f"VENV={venv}",
        "-o",
        f"{venv}/.installed-run",
    ]
    # An earlier `make run` registered the demo site on the default port.
    for args in (["migrate"], ["site", "add", "demo", "--origin", "http://127.0.0.1:8000"]):
        subprocess.run(
            [sys.executable, "-m", "server.cli", *args],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    with log.open("w") as out:
        make = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_restore_ctrl_c,
        )
    try:
        wait_port(port, timeout=60, proc=make)
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status_code == 200 and "widget.js" in page.text
        for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
            thread = httpx.get(
                f"http://127.0.0.1:{port}/api/v1/sites/demo/thread",
                params={"page": "/"},
                headers={"Origin": origin},
                timeout=10,
            )
            assert thread.status_code == 200, thread.text  # the widget on this port may load
        deadline = time.monotonic() + 10
        while "Uvicorn running on" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C: the whole foreground process group
        make.wait(30)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
    output = log.read_text()
    # make reports the interrupt and dies of it (a shell shows 130); the server exits 0.
    assert make.returncode in (0, -signal.SIGINT, 130), output
    assert "Traceback" not in output and "Error" not in output.replace("make: ***", "")
    served = output[output.index("threadline serve") :].splitlines()[1:]
    messages = [line.split(": ", 1)[1] for line in served if " INFO " in line]
    assert [m.split(" [")[0] for m in messages] == [
        "Started server process",
        messages[1],
        f"Uvicorn running on http://127.0.0.1:{port} (Press CTRL+C to quit)",
        "Shutting down",
        "Finished server process",
    ], output
    assert messages[1].startswith("threadline node") and "ready" in messages[1]
