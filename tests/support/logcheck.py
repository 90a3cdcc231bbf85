"""One log directory for the whole test session, and the check run at its very end: no line
that a server process or the in-process app logged may name a client address
(docs/privacy.md). Clients in tests connect from addresses of their own (127.0.0.2, the
in-process 203.0.113.7), so an address a server logs about its client stands out."""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import logging
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from server.runtime.logs import JsonFormatter

# The servers' own bind addresses may be named (uvicorn's "running on", database URLs).
ALLOWED = frozenset({"127.0.0.1", "::1", "0.0.0.0", "::"})
# Candidates only: each is confirmed by ipaddress, so timestamps and versions pass.
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}"
    r"(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4})(?![\w:])"
)
# uvicorn's access shape, whoever the client: `127.0.0.1:54321 - "GET /x HTTP/1.1" 200`
# (in JSON the quote is escaped).
_ACCESS_SHAPE = re.compile(r'\S+:\d+ - \\?"')
IN_PROCESS = "in-process.log"
SHOWN = 20

_directory: Path | None = None
_prefix = ""  # a pytest-xdist worker's id: the workers share one directory
_adopted: list[Path] = []
_SHARED = pytest.StashKey[Path]()
_numbers = itertools.count(1)


def offences(line: str) -> list[str]:
    """What in ``line`` names a client: an IP literal other than a bind address, or the
    access shape."""
    found = [m.group(0) for m in _ACCESS_SHAPE.finditer(line)]
    for match in itertools.chain(_IPV4.finditer(line), _IPV6.finditer(line)):
        text = match.group(0)
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            continue
        if str(address) not in ALLOWED:
            found.append(text)
    return found


def scan(paths: Iterable[Path]) -> tuple[list[str], int]:
    """``file:line: text`` for every offending line, and how many lines were read."""
    report, lines = [], 0
    for path in paths:
        with path.open(encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, 1):
                lines += 1
                if offences(line):
                    report.append(f"{path.name}:{number}: {line.rstrip()[:300]}")
    return report, lines


def directory() -> Path | None:
    return _directory


def new_log(stem: str) -> Path | None:
    """A fresh file name in the session's directory (None outside a test session)."""
    if _directory is None:
        return None
    return _directory / f"{_prefix}{next(_numbers):04d}-{stem}.log"


def adopt(path: Path) -> None:
    """A log written where a test cannot choose (a documented shell command): copied into
    the directory, and so checked, at the end of the session."""
    _adopted.append(path)


@contextlib.contextmanager
def session(path: Path, worker: str = "") -> Iterator[Path]:
    """Make ``path`` the session's log directory and log the in-process app there too: a
    root handler with our own JSON formatter, at INFO. ``worker``: a pytest-xdist worker's
    id, which names its files in a directory every worker shares."""
    global _directory, _prefix
    _directory, _prefix = path, f"{worker}-" if worker else ""
    handler = logging.FileHandler(path / f"{_prefix}{IN_PROCESS}", encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    handler.set_name("threadline-tests")
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(min(level, logging.INFO))
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def shared_directory(config: pytest.Config) -> Path:
    """Under pytest-xdist, made by the controller: the one directory all workers log into.
    The controller checks it once every worker is done, since a worker's failed exit status
    does not fail the run. In pytest's own temporary directory, which keeps the last runs."""
    if _SHARED not in config.stash:
        factory = getattr(config, "_tmp_path_factory", None)
        config.stash[_SHARED] = (
            factory.mktemp("logs")
            if isinstance(factory, pytest.TempPathFactory)
            else Path(tempfile.mkdtemp(prefix="threadline-logs-"))
        )
    return config.stash[_SHARED]


def hand_over() -> None:
    """The logs adopted so far join the session's directory: at the end of each test, so
    that a worker lost after its last test has not kept them from the check."""
    if _directory is None:
        return
    while _adopted:
        path = _adopted.pop(0)
        if path.exists():
            name = f"{_prefix}{next(_numbers):04d}-adopted-{path.name}"
            shutil.copy(path, _directory / name)


def finish(session: pytest.Session) -> None:
    """Fail the run (exit status 1, a red section) if any log line names a client."""
    hand_over()
    directory = _directory or session.config.stash.get(_SHARED, None)
    if directory is None:
        return
    files = sorted(directory.glob("*.log"))
    findings, lines = scan(files)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if not findings:
        if reporter is not None:  # proof the check ran, and on what
            reporter.write("\n")  # after the progress line
            reporter.write_line(
                f"log check: {lines} lines in {len(files)} logs in {directory}, no client address"
            )
        return
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    report = [
        f"the run fails: {len(findings)} of {lines} log lines in {directory} name a "
        "client address (docs/privacy.md: no raw IP in any log)",
        *findings[:SHOWN],
    ]
    if len(findings) > SHOWN:
        report.append(f"... and {len(findings) - SHOWN} more")
    if reporter is None:
        print("\n".join(report), file=sys.stderr)
        return
    reporter.write("\n")
    reporter.write_sep("=", "client addresses in logs", red=True, bold=True)
    for line in report:
        reporter.write_line(line)
