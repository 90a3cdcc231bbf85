"""The end-of-session log check (tests/support/logcheck.py) can fail: it flags every shape
of client address a server might log, spares the servers' own bind addresses, and turns a
run whose tests all passed red."""

from __future__ import annotations

import pytest

from tests.support import logcheck
from tests.support.servers import ROOT

NAMES_A_CLIENT = [
    '{"logger": "uvicorn.access", "msg": "127.0.0.2:43849 - \\"GET /healthz?x=1 HTTP/1.1\\" 200"}',
    '127.0.0.1:5000 - "GET / HTTP/1.1" 200',  # a bind address, but uvicorn's access shape
    '::1:5000 - "WebSocket /ws" [accepted]',
    "refused a post from 203.0.113.7",
    "x-forwarded-for: 10.1.2.3.",
    '{"msg": "peer 2001:db8::7 is over its limit"}',
    "client [2001:db8:0:0:1::7]:443",
    "mapped ::ffff:198.51.100.4 connected",
]
NAMES_NO_CLIENT = [
    "Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)",
    '{"ts": "2026-11-29T16:03:42.260+00:00", "level": "info", "msg": "Shutting down"}',
    "Redis unavailable (Error 111 connecting to 127.0.0.1:6379. Connection refused.)",
    "listening on [::]:8000 and [::1]:8000, 0.0.0.0:8000",
    "Chrome/120.0.6099.109 asked for v1.2.3 in 0.98 ms",
    '{"msg": "WebSocket /ws 101", "route": "/ws", "status": 101}',
]


@pytest.mark.parametrize("line", NAMES_A_CLIENT)
def test_check_flags_a_line_that_names_a_client(line: str) -> None:
    assert logcheck.offences(line)


@pytest.mark.parametrize("line", NAMES_NO_CLIENT)
def test_check_spares_bind_addresses_times_and_versions(line: str) -> None:
    assert logcheck.offences(line) == []


INNER_CONFTEST = """
from tests.conftest import (  # the real hooks and fixture
    pytest_configure_node,
    pytest_sessionfinish,
    session_logs,
)
"""
INNER_TEST = """
from tests.support import logcheck

def test_a_server_logs_a_line() -> None:
    path = logcheck.new_log("server")
    path.write_text({line!r} + "\\n")
"""


@pytest.mark.parametrize(
    ("line", "status", "workers"),
    [
        (NAMES_A_CLIENT[0], 1, []),
        (NAMES_NO_CLIENT[0], 0, []),
        (NAMES_A_CLIENT[0], 1, ["-n", "2"]),  # the case xdist got wrong
    ],
    ids=["names-a-client", "names-none", "names-a-client-xdist"],
)
def test_a_client_address_in_any_log_fails_the_whole_run(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    line: str,
    status: int,
    workers: list[str],
) -> None:
    """Also under pytest-xdist (`make test`), whose workers' own exit statuses do not
    decide the run's: the controller checks the directory they share."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(INNER_TEST.format(line=line))
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=session", *workers
    )
    result.assert_outcomes(passed=1)  # every test passed ...
    assert result.ret == status  # ... and the run still fails when a log names a client
    if status:
        result.stdout.fnmatch_lines(["*client addresses in logs*", "*0001-server.log:1:*"])
