"""The one method a transaction needs from a connection, so SQLite and PostgreSQL can differ
below it.

PostgreSQL goes through asyncpg (a network round trip per statement is worth awaiting).
SQLite runs on the event loop thread itself: a statement on an indexed table takes tens of
microseconds, far less than the two thread hops aiosqlite spends on each, and a transaction
that never yields cannot be interleaved with others, so the write lock is held for a
millisecond instead of several trips around a busy event loop."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.engine import Connection as SqlAlchemyConnection
from sqlalchemy.engine import CursorResult
from sqlalchemy.sql.base import Executable

Rows = CursorResult[*tuple[Any, ...]]


class Connection(Protocol):
    async def execute(self, statement: Executable, parameters: Any = None, /) -> Rows: ...


class AwaitableSyncConnection:
    """A synchronous SQLAlchemy connection behind the awaitable interface."""

    __slots__ = ("sync",)

    def __init__(self, sync: SqlAlchemyConnection) -> None:
        self.sync = sync

    async def execute(self, statement: Executable, parameters: Any = None, /) -> Rows:
        return self.sync.execute(statement, parameters)
