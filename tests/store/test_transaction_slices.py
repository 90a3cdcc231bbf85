"""The Tx port is the sum of its slices, and the store implements it slice by slice.

mypy proves each slice's methods are implemented with the right signatures; what it cannot
see is a method declared by two slices (the second silently wins) or a store method no slice
declares (core could not reach it)."""

from __future__ import annotations

import inspect
from collections import Counter

from server.core.ports import Tx
from server.store.tx import SqlTx


def _declared(protocol: type) -> set[str]:
    return {
        name
        for name, value in vars(protocol).items()
        if inspect.iscoroutinefunction(value) and not name.startswith("_")
    }


def _slices() -> list[type]:
    return [cls for cls in Tx.__mro__[1:] if getattr(cls, "_is_protocol", False) and _declared(cls)]


def test_each_method_of_the_port_is_declared_by_one_slice() -> None:
    counts = Counter(name for cls in _slices() for name in _declared(cls))
    assert [name for name, n in counts.items() if n > 1] == []
    assert not _declared(Tx)  # Tx only joins the slices


def test_the_store_offers_exactly_the_port() -> None:
    port = {name for cls in _slices() for name in _declared(cls)}
    offered = {
        name
        for name in dir(SqlTx)
        if not name.startswith("_") and inspect.iscoroutinefunction(getattr(SqlTx, name))
    }
    assert offered == port
