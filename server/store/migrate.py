"""Running Alembic migrations from code (the CLI and tests), on the store's own engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from server.store.database import SqlStore

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def migrate(store: SqlStore, revision: str = "head") -> None:
    """Upgrade the schema (creating a missing SQLite file first); safe to run from several
    processes at once on PostgreSQL."""
    store.create_file()
    await store.run_sync(_upgrade, revision, write=True)


def _upgrade(sync_conn: Any, revision: str) -> None:
    if sync_conn.dialect.name == "postgresql":
        # Two release commands racing would otherwise both try to create tables.
        sync_conn.execute(text("SELECT pg_advisory_xact_lock(7219431)"))
    cfg = alembic_config()
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, revision)


async def current_revision(store: SqlStore) -> str | None:
    return await store.run_sync(
        lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
    )


async def check_migrated(store: SqlStore) -> None:
    """Fail fast, with the fix, when the database is behind the code."""
    current, head = await current_revision(store), head_revision()
    if current != head:
        raise RuntimeError(
            f"database schema is at {current or 'nothing'}, code needs {head}: "
            "run `threadline migrate`"
        )
