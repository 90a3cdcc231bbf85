"""`threadline db copy`: every row of one database into another (SQLite -> PostgreSQL is
the usual move), resumable, then verified table by table with counts and checksums."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, false, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from server.store.database import SqlStore
from server.store.migrate import check_migrated, migrate
from server.store.preflight import check_database
from server.store.schema import metadata

BATCH = 1000
Progress = Callable[[str], None]


@dataclass
class TableReport:
    name: str
    source_rows: int
    target_rows: int
    copied: int
    source_sum: str
    target_sum: str

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.source_sum == self.target_sum


def _key(table: Table) -> list[Any]:
    return list(table.primary_key.columns)


def _canonical(value: Any) -> str:
    # The same row must hash the same on both engines: SQLite hands back ints for booleans.
    if isinstance(value, bool):
        return str(int(value))
    return "\x00" if value is None else str(value)


async def _checksum(store: SqlStore, table: Table) -> tuple[int, str]:
    digest, rows = hashlib.sha256(), 0
    columns = [c.name for c in table.columns]
    after: tuple[Any, ...] | None = None
    key = _key(table)
    while True:
        q = select(*[table.c[n] for n in columns]).order_by(*key).limit(BATCH * 5)
        if after is not None:
            q = q.where(tuple_(*key) > tuple_(*after))
        async with store.read() as tx:
            batch = list(await tx.conn.execute(q))
        for row in batch:
            digest.update("\x1f".join(_canonical(v) for v in row).encode() + b"\x1e")
        rows += len(batch)
        if len(batch) < BATCH * 5:
            return rows, digest.hexdigest()
        last = batch[-1]
        after = tuple(last[columns.index(c.name)] for c in key)


def _insert(store: SqlStore, table: Table, rows: list[dict[str, Any]]) -> Any:
    # Rows already there (an earlier, interrupted run) are skipped, never duplicated.
    if store.dialect == "postgresql":
        return pg_insert(table).values(rows).on_conflict_do_nothing()
    return sqlite_insert(table).values(rows).on_conflict_do_nothing()


async def _copy_table(source: SqlStore, target: SqlStore, table: Table, progress: Progress) -> int:
    key = _key(table)
    after: tuple[Any, ...] | None = None
    copied = 0
    while True:
        q = select(table).order_by(*key).limit(BATCH)
        if after is not None:
            q = q.where(tuple_(*key) > tuple_(*after))
        async with source.read() as tx:
            batch = [dict(r._mapping) for r in await tx.conn.execute(q)]
        if not batch:
            return copied
        async with target.write() as tx:
            result = await tx.conn.execute(_insert(target, table, batch))
        copied += max(result.rowcount or 0, 0)
        after = tuple(batch[-1][c.name] for c in key)
        progress(f"  {table.name}: {copied} copied so far")


async def _reset_sequences(target: SqlStore) -> None:
    """PostgreSQL hands out ids from sequences, which copied rows did not advance."""
    if target.dialect != "postgresql":
        return
    async with target.write() as tx:
        for table in metadata.sorted_tables:
            for column in table.primary_key.columns:
                if column.autoincrement is True:
                    top = select(func.coalesce(func.max(column), 0) + 1).scalar_subquery()
                    await tx.conn.execute(
                        select(
                            func.setval(
                                func.pg_get_serial_sequence(table.name, column.name), top, false()
                            )
                        )
                    )


async def copy_database(
    source_url: str,
    target_url: str,
    progress: Progress = print,
    *,
    names: tuple[str, str] = ("--from", "--to"),
) -> list[TableReport]:
    """Copy, then verify. Both databases are checked before anything is written: a source
    that is not there or not migrated, or a target that cannot be reached or made, is a
    :class:`DatabaseProblem` or ``RuntimeError`` naming the fix (``names`` say which URL)."""
    source, target = SqlStore(source_url, pool_size=2), SqlStore(target_url, pool_size=2)
    try:
        await check_database(source, names[0])
        await check_migrated(source)
        await check_database(target, names[1], create=True)
        await migrate(target)
        copied: dict[str, int] = {}
        for table in metadata.sorted_tables:  # parents before children
            progress(f"copying {table.name}")
            copied[table.name] = await _copy_table(source, target, table, progress)
        await _reset_sequences(target)
        reports = []
        for table in metadata.sorted_tables:
            (s_rows, s_sum), (t_rows, t_sum) = (
                await _checksum(source, table),
                await _checksum(target, table),
            )
            reports.append(
                TableReport(table.name, s_rows, t_rows, copied[table.name], s_sum, t_sum)
            )
        return reports
    finally:
        await source.close()
        await target.close()
