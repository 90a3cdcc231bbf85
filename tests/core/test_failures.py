"""Work that retries by itself logs a database outage in one quiet line (the store logs the
outage itself, once), and anything else with its traceback."""

from __future__ import annotations

import asyncio
import logging

import pytest

from server.core.errors import Unavailable
from server.core.failures import log_failure
from server.core.singleflight import SingleFlight

log = logging.getLogger("threadline.test")


def test_an_unavailable_database_is_one_quiet_line_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, log.name)
    try:
        raise Unavailable("database_unavailable", "the database is unreachable; try again")
    except Unavailable:
        log_failure(log, "catch-up read failed for %s; retrying", "tl:p:s:1")
    [record] = caplog.records
    assert record.levelno == logging.DEBUG
    assert record.exc_info is None
    assert record.getMessage() == (
        "catch-up read failed for tl:p:s:1; retrying "
        "(database_unavailable: the database is unreachable; try again)"
    )


def test_anything_else_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    try:
        raise KeyError("bug")
    except KeyError:
        log_failure(log, "sweep failed")
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None


async def test_a_background_refresh_the_database_refused_is_not_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, "threadline.cache")

    async def refused() -> int:
        raise Unavailable("database_unavailable", "the database is unreachable; try again")

    flights: SingleFlight[str, int] = SingleFlight()
    flights.refresh("k", refused)
    for _ in range(5):
        await asyncio.sleep(0)
    assert not flights.running("k")
    assert [r.levelno for r in caplog.records if r.name == "threadline.cache"] == [logging.DEBUG]
