"""Garbage-collector settings for a process holding thousands of idle sockets.

A full (generation 2) collection walks every tracked object, and with 10,000 open websockets
that is millions of objects: measured at 0.2-0.9 s per pass on the benchmark machine, a pause
every reader on the process feels. CPython starts a full pass once enough objects have
survived into the old generation, so the fewer short-lived objects (frames, tasks, futures of
one request or one event) are caught alive by a young collection, the rarer full passes get:
a larger young-generation threshold lets them die by reference count first. Objects that
exist once the app has started (modules, the schema, compiled statements) live for the whole
process, so they are frozen out of every future pass."""

from __future__ import annotations

import gc

YOUNG = 20_000  # CPython's default is 700 (2,000 from 3.13)
MIDDLE = 20


def tune() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, gc.get_threshold()[2])
