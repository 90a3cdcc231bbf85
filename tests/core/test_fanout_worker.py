"""The fan-out worker's bookkeeping of pages to read: a page woken while a batch runs is
read by the next batch (it was dropped before), a page held elsewhere is tried again a
bounded number of times, and a failing batch pauses instead of flooding the log. The batch
itself is core.fanout's (tested on real stores in test_fanout_cursors.py); here it is
replaced by a recorder, since only the worker's scheduling is under test."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

import pytest

from server import fanout_worker
from server.core.fanout import FanOut
from server.fanout_worker import TRIES, FanOutWorker


class Recorder:
    def __init__(self) -> None:
        self.calls: list[list[int] | None] = []
        self.during: Any = None  # run while a batch is in flight
        self.later: set[int] = set()
        self.fail = False

    async def __call__(self, svc: Any, pages: Collection[int] | None = None) -> FanOut:
        self.calls.append(None if pages is None else sorted(pages))
        if self.during is not None:
            during, self.during = self.during, None
            during()
        await asyncio.sleep(0)
        if self.fail:
            raise RuntimeError("database gone")
        return FanOut(comments=1, later={p for p in (pages or ()) if p in self.later})


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    found = Recorder()
    monkeypatch.setattr(fanout_worker, "fan_out", found)
    monkeypatch.setattr(fanout_worker, "FAILED_PAUSE", 0)
    return found


async def test_a_page_woken_during_a_batch_is_read_by_the_next(recorder: Recorder) -> None:
    worker = FanOutWorker(services=None)  # type: ignore[arg-type]
    worker.wake(1)
    recorder.during = lambda: worker.wake(2)
    await worker.run_once()
    await worker.run_once()
    assert recorder.calls == [[1], [2]]


async def test_a_page_held_elsewhere_is_tried_again_a_bounded_number_of_times(
    recorder: Recorder,
) -> None:
    worker = FanOutWorker(services=None)  # type: ignore[arg-type]
    recorder.later = {7}
    worker.wake(7)
    for _ in range(TRIES + 5):
        await worker.run_once()
    assert len(recorder.calls) == TRIES  # then it waits for the minute's look
    worker.wake(7)  # a new post gives it all its tries again
    await worker.run_once()
    assert len(recorder.calls) == TRIES + 1


async def test_a_failing_batch_keeps_its_pages_for_a_bounded_number_of_tries(
    recorder: Recorder,
) -> None:
    worker = FanOutWorker(services=None)  # type: ignore[arg-type]
    recorder.fail = True
    worker.wake(3)
    for _ in range(TRIES + 5):
        await worker.run_once()
    assert recorder.calls == [[3]] * TRIES


async def test_the_look_for_every_page_leaves_the_woken_ones_for_their_round(
    recorder: Recorder,
) -> None:
    worker = FanOutWorker(services=None)  # type: ignore[arg-type]
    worker.wake(5)
    await worker.run_once(everything=True)
    await worker.run_once()
    assert recorder.calls == [None, [5]]
