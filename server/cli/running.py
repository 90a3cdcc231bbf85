"""What every command shares: its signature, the user's mistakes as one line, the one clock,
and running work on the configured database with every failure turned into that one line."""

from __future__ import annotations

import argparse
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from server.core.errors import DomainError
from server.settings import Settings

if TYPE_CHECKING:
    # Only for annotations: the store pulls in SQLAlchemy, which `threadline --help` and
    # `threadline settings` should not pay for.
    from server.core.context import Services
    from server.store.database import SqlStore

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE, as a Unix tool whose reader went away
DATABASE_URL_SETTING = "THREADLINE_DATABASE_URL"  # named in the fix for a bad URL

# A command's handler: the settings in effect and its parsed arguments in, exit status out.
Command: TypeAlias = Callable[[Settings, argparse.Namespace], int]
# What `add_subparsers()` returns; argparse gives this class no public name.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

Result = TypeVar("Result")


class CliError(Exception):
    """A mistake the user can fix; printed as one line, exit code 2."""


def now_ms(clock: Callable[[], float] = time.time) -> int:
    """The CLI's one clock, read as core's ``Services.now_ms`` reads its own: milliseconds
    since the epoch, the unit of every time the store keeps."""
    return int(clock() * 1000)


def services_for(
    settings: Settings, store: SqlStore, clock: Callable[[], float] = time.time
) -> Services:
    """Core's services for a command: the same rules and clock as a server's, nothing to
    publish (servers deliver what was committed), no rate limits for the operator."""
    from server.core.context import command_services

    return command_services(store, settings.secret_key, clock)


def finish(work: Coroutine[object, object, Result]) -> Result:
    """Run ``work`` to its end; a refusal by the rules or a database that cannot be used
    becomes a :class:`CliError` (its one line), never a traceback."""
    import asyncio  # here: `threadline --help` and `threadline settings` need no event loop

    from server.store.preflight import DatabaseProblem

    try:
        return asyncio.run(work)
    except DomainError as exc:
        raise CliError(exc.message) from None
    except (RuntimeError, DatabaseProblem) as exc:
        raise CliError(str(exc)) from None


def open_store(settings: Settings) -> SqlStore:
    from server.store.database import SqlStore

    return SqlStore(settings.database_url, pool_size=2)  # one command, one connection or two


def run_on_database(
    settings: Settings, work: Callable[[SqlStore], Awaitable[int]], *, migrated: bool = True
) -> int:
    """``work(store)`` on the configured database, checked first: one line naming the fix
    if it cannot be used, or (unless this is the migration) is not migrated."""

    async def checked_then_worked() -> int:
        from server.store.migrate import check_migrated
        from server.store.preflight import check_database

        store = open_store(settings)
        try:
            await check_database(
                store,
                DATABASE_URL_SETTING,
                create=not migrated,
                hint=", or create it with `threadline migrate`",
            )
            if migrated:
                await check_migrated(store)
            return await work(store)
        finally:
            await store.close()

    return finish(checked_then_worked())
