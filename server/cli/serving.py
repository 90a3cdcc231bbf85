"""`threadline serve` and `threadline migrate`: run the web server, bring the schema up to
date. Each imports what it needs when it runs, so `threadline --help` starts fast."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from server.cli.running import Subcommands, run_on_database
from server.settings import Settings

if TYPE_CHECKING:
    from server.store.database import SqlStore


def add_commands(subcommands: Subcommands) -> None:
    serve = subcommands.add_parser(
        "serve",
        help="run the web server",
        description="Serve the API, websockets, widget and moderation pages.",
    )
    serve.add_argument("--host", help="address to bind (default: $HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default: $PORT or 8000)")
    serve.add_argument(
        "--workers", type=int, help="server processes (default: $WEB_CONCURRENCY or 1)"
    )
    serve.add_argument("--reload", action="store_true", help="restart on code changes (dev)")
    serve.add_argument("--migrate", action="store_true", help="run migrations first")
    serve.set_defaults(func=cmd_serve)

    migrate = subcommands.add_parser(
        "migrate",
        help="create or upgrade the database schema",
        description="Upgrade the database to the newest schema (idempotent).",
    )
    migrate.set_defaults(func=cmd_migrate)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from server.runtime.serve import uvicorn_options

    options = uvicorn_options(
        settings, host=args.host, port=args.port, workers=args.workers, reload=args.reload
    )
    from server.runtime import logs

    logs.configure(settings.log_format, settings.log_level, settings.access_log)
    if args.migrate:
        cmd_migrate(settings, args)
    else:
        # One line now, rather than a traceback from each worker.
        run_on_database(settings, _database_is_usable)
    uvicorn.run(**options)
    return 0


async def _database_is_usable(store: SqlStore) -> int:
    """Nothing: ``run_on_database`` has checked the database before calling this."""
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from server.store.database import sqlite_path
    from server.store.migrate import head_revision, migrate

    path = sqlite_path(settings.database_url)
    if path is not None and path.parent.resolve() == Path(settings.data_dir).resolve():
        # The data directory is Threadline's own to make; any other missing directory in a
        # SQLite URL is taken for a typo.
        path.parent.mkdir(parents=True, exist_ok=True)

    async def upgrade(store: SqlStore) -> int:
        await migrate(store)
        print(f"database at revision {head_revision()}")
        return 0

    return run_on_database(settings, upgrade, migrated=False)
