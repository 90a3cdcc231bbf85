"""Throwaway databases: each one cloned from a template migrated once per session."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import asyncpg

from server.store.database import SqlStore
from server.store.migrate import migrate
from tests.support.services import PostgresCluster

_names = itertools.count(1)


class Databases:
    def __init__(self, workdir: Path, pg: PostgresCluster | None) -> None:
        self.workdir = workdir
        self.pg = pg
        self._sqlite_template: Path | None = None
        self._pg_template = False

    async def create(self, backend: str) -> str:
        """A new, migrated, empty database for ``backend``; returns its URL."""
        n = next(_names)
        if backend == "sqlite":
            if self._sqlite_template is None:
                self._sqlite_template = self.workdir / "template.db"
                store = SqlStore(f"sqlite:///{self._sqlite_template}")
                await migrate(store)
                await store.close()
            path = self.workdir / f"db{n}.db"
            shutil.copyfile(self._sqlite_template, path)
            return f"sqlite:///{path}"
        assert self.pg is not None
        if not self._pg_template:
            await self._admin("CREATE DATABASE tl_template")
            store = SqlStore(self.pg.url("tl_template"))
            await migrate(store)
            await store.close()
            self._pg_template = True
        await self._admin(f"CREATE DATABASE db{n} TEMPLATE tl_template")
        return self.pg.url(f"db{n}")

    async def _admin(self, sql: str) -> None:
        assert self.pg is not None
        conn = await asyncpg.connect(self.pg.admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()


async def page_of(store: SqlStore, site: str, key: str) -> tuple[int, int]:
    """The page's id and its seq (the number of its last event) now."""
    from sqlalchemy import select

    from server.store.schema import pages

    async with store.read() as tx:
        row = (
            await tx.conn.execute(
                select(pages.c.id, pages.c.seq).where(pages.c.site_id == site, pages.c.key == key)
            )
        ).one()
    return int(row.id), int(row.seq)
