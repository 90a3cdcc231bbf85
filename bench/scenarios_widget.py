"""(f) The widget: gzipped size and script start -> first comments painted in Chromium.

The measurement lives in tests/browser/test_widget_report.py (real Chromium against a real
server, both started by that suite's fixtures); here it runs with more page loads and hands
its figures back through a JSON file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from bench.harness import QUICK, ROOT, Services

TEST = "tests/browser/test_widget_report.py"


async def widget(services: Services, root: Path = ROOT, loads: int = 0) -> dict[str, Any]:
    """The figures of ``root``'s tree (another revision's, exported for a same-run
    comparison: `python -m pytest` run there imports that tree's server and tests)."""
    out = services.work / f"widget-{root.name}.json"
    out.unlink(missing_ok=True)
    env = {
        **os.environ,
        "THREADLINE_BENCH_OUT": str(out),
        "THREADLINE_BENCH_LOADS": str(loads or (3 if QUICK else 15)),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        TEST,
        cwd=root,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # its Chromium and servers go with it on a timeout
    )
    try:
        stdout, _ = await asyncio.wait_for(proc.communicate(), 300)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        return {"ok": False, "error": "widget measurement timed out after 300 s"}
    if proc.returncode != 0 or not out.exists():
        tail = stdout.decode(errors="replace").strip().splitlines()[-5:]
        return {"ok": False, "error": "widget measurement failed: " + " | ".join(tail)}
    result: dict[str, Any] = json.loads(out.read_text())
    return result
