"""SingleFlight: concurrent misses share one computation, failures reach every waiter, a
cancelled waiter leaves the others served, background refreshes never pile up."""

from __future__ import annotations

import asyncio

import pytest

from server.core.singleflight import SingleFlight


class Slow:
    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail
        self.gate = asyncio.Event()

    async def __call__(self) -> int:
        self.calls += 1
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("database down")
        return self.calls


async def test_concurrent_callers_share_one_computation() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    work = Slow()
    waiters = [asyncio.create_task(flights.run("k", work)) for _ in range(50)]
    await asyncio.sleep(0)
    assert flights.running("k")
    work.gate.set()
    assert await asyncio.gather(*waiters) == [1] * 50
    assert work.calls == 1 and not flights.running("k")
    assert await flights.run("k", work) == 2  # finished: the next call computes again


async def test_a_failure_reaches_every_waiter_and_is_not_kept() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    work = Slow(fail=True)
    waiters = [asyncio.create_task(flights.run("k", work)) for _ in range(5)]
    await asyncio.sleep(0)
    work.gate.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    work.fail = False
    assert await flights.run("k", work) == 2


@pytest.mark.parametrize("gives_up", [0, 1])
async def test_a_cancelled_caller_leaves_the_computation_to_the_others(gives_up: int) -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    work = Slow()
    callers = [asyncio.create_task(flights.run("k", work)) for _ in range(2)]
    await asyncio.sleep(0)
    callers[gives_up].cancel()  # the one that started it, or one that joined
    with pytest.raises(asyncio.CancelledError):
        await callers[gives_up]
    work.gate.set()
    assert await callers[1 - gives_up] == 1 and work.calls == 1


async def test_refreshes_never_pile_up_and_their_failures_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    work = Slow(fail=True)
    for _ in range(10):
        flights.refresh("k", work)
        await asyncio.sleep(0)
    assert work.calls == 1
    work.gate.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert not flights.running("k")
    assert "background refresh failed: RuntimeError('database down')" in caplog.text
