"""Before a command uses a database: what is wrong with its URL, in one line that names the
fix (a typo in a SQLite path, a database not created yet, a wrong password or user, a
server that does not answer), instead of a traceback or an empty database made by mistake."""

from __future__ import annotations

import getpass
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from server.store.database import SqlStore, sqlite_path

CONNECT_TIMEOUT = 5  # seconds; SqlStore's asyncpg connect timeout


class DatabaseProblem(Exception):
    """The database a URL names cannot be used; ``str()`` is one line naming the fix."""


async def check_database(
    store: SqlStore, where: str, *, create: bool = False, hint: str = ""
) -> None:
    """Raise :class:`DatabaseProblem` unless ``store`` can be used. ``where`` names the URL's
    origin for the fix ("THREADLINE_DATABASE_URL", "--from"). A missing SQLite file is a
    problem unless ``create`` (then its directory must exist); ``hint`` is added to that
    message."""
    path = sqlite_path(store.url)
    if path is not None:
        path = path.absolute()  # a relative path is where a typo in the working directory hides
        problem = sqlite_problem(path, where, create=create, hint=hint)
        if problem:
            raise DatabaseProblem(problem)
        if not path.exists():
            return  # migrate creates it
    try:
        await store.connect_once()
    except Exception as exc:
        raise DatabaseProblem(explain(store.url, where, exc)) from exc


def sqlite_problem(path: Path, where: str, *, create: bool, hint: str = "") -> str | None:
    if path.is_dir():
        return f"{path} is a directory, not a SQLite database: fix {where}"
    if path.exists():
        return None
    if not path.parent.is_dir():
        return f"no directory {path.parent} for the SQLite database {path.name}: fix {where}" + (
            "" if not create else ", or create the directory first"
        )
    if not create:
        return f"no SQLite database at {path}: fix {where}{hint}"
    return None


def explain(url: str, where: str, exc: BaseException) -> str:
    """One line for an error met while connecting to ``url``; never shows its password."""
    server = _Server(url)
    for error in _chain(exc):
        line = _explain_one(server, where, error)
        if line:
            return line
    innermost = list(_chain(exc))[-1]
    detail = (str(innermost).strip().splitlines() or [type(innermost).__name__])[0]
    return f"cannot use the database named by {where} ({server}): {detail}"


def _explain_one(s: _Server, where: str, error: BaseException) -> str | None:
    kind, text = type(error).__name__, str(error)
    if isinstance(error, sqlite3.DatabaseError):
        if "not a database" in text:
            return f"{s.database} is not a SQLite database: fix {where}"
        if "unable to open" in text:
            return f"cannot open the SQLite database {s.database} (permissions?): fix {where}"
        return None
    if kind == "InvalidCatalogNameError":  # asyncpg: database "x" does not exist
        return (
            f'PostgreSQL at {s} has no database "{s.database}": create it with '
            f"`createdb -h {s.host} -p {s.port} -O {s.user} {s.database}` as a superuser, "
            f"or fix {where}"
        )
    if kind == "InvalidPasswordError":
        if s.has_password:
            return f'PostgreSQL at {s} refused the password of user "{s.user}": fix {where}'
        return (
            f'PostgreSQL at {s} wants a password for user "{s.user}": give it in {where} '
            f"(postgresql://{s.user}:PASSWORD@{s.host}:{s.port}/{s.database})"
        )
    if kind == "InvalidAuthorizationSpecificationError":
        if "does not exist" in text:
            return (
                f'PostgreSQL at {s} has no user "{s.user}": create it with '
                f"`createuser -h {s.host} -p {s.port} {s.user}` as a superuser, "
                f"or fix {where}"
            )
        return f"PostgreSQL at {s} refused the connection ({text}): fix {where} or pg_hba.conf"
    if isinstance(error, ConnectionRefusedError) or (
        isinstance(error, FileNotFoundError) and s.socket
    ):
        return f"nothing answers at {s}: start PostgreSQL there, or fix {where}"
    if isinstance(error, socket.gaierror):
        return f'unknown host "{s.host}": fix {where}'
    if isinstance(error, TimeoutError):
        return (
            f"PostgreSQL at {s} did not answer within {CONNECT_TIMEOUT} seconds: check the "
            f"host, the port and firewalls, or fix {where}"
        )
    if isinstance(error, OSError) and error.strerror:
        return f"cannot reach PostgreSQL at {s} ({error.strerror}): fix {where}"
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The error and what caused it, outermost first (SQLAlchemy wraps the driver's)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


class _Server:
    """The parts of a database URL a message may name (never its password)."""

    def __init__(self, url: str) -> None:
        path = sqlite_path(url)
        if path is not None or url.startswith("sqlite"):
            path = path.absolute() if path is not None else None
            self.database, self.host, self.port, self.user = str(path), "", 0, ""
            self.has_password = self.socket = False
            return
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self.user = unquote(parts.username or "") or getpass.getuser()  # as asyncpg does
        self.database = unquote(parts.path.lstrip("/")) or self.user
        self.has_password = parts.password is not None
        self.host = parts.hostname or (query.get("host") or ["localhost"])[0]
        self.socket = self.host.startswith("/")
        try:
            self.port = parts.port or int((query.get("port") or ["5432"])[0])
        except ValueError:
            self.port = 5432

    def __str__(self) -> str:
        if not self.host:
            return self.database  # a SQLite file
        return f"{self.host} port {self.port}" if self.socket else f"{self.host}:{self.port}"
