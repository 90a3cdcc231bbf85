"""Shared fixtures: real Redis, real PostgreSQL and SQLite, real uvicorn processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.app import create_app
from server.store.database import SqlStore
from tests.support import logcheck
from tests.support.api import Api, Clock
from tests.support.config import (
    BACKENDS,
    LazyDatabases,
    env_for,
    settings_for,
)
from tests.support.db import Databases
from tests.support.net import http_client
from tests.support.servers import ServerProcess
from tests.support.services import PostgresCluster, RedisServer, running

pytest_plugins = ["pytester"]  # tests/test_log_check.py runs a session of its own


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Browser tests last: they are the slowest and start Chromium once.
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


@pytest.fixture(scope="session", autouse=True)
def session_logs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """Every server process's log, and the in-process app's, in one directory (under
    pytest-xdist, one for all the workers, made by the controller)."""
    worker: dict[str, Any] | None = getattr(request.config, "workerinput", None)
    if worker is not None:
        shared, name = Path(worker["threadline_logs"]), str(worker["workerid"])
    else:
        shared, name = tmp_path_factory.mktemp("logs"), ""
    with logcheck.session(shared, name) as directory:
        yield directory


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist's controller, starting a worker: the log directory they all share."""
    node.workerinput["threadline_logs"] = str(logcheck.shared_directory(node.config))


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    """Logs a test adopted are copied once its fixtures stopped their servers."""
    try:
        return (yield)
    finally:
        logcheck.hand_over()


@pytest.hookimpl(trylast=True)  # after the session's fixtures are torn down
def pytest_sessionfinish(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):
        logcheck.hand_over()  # the controller checks the shared directory at its end
    else:
        logcheck.finish(session)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    with running(server, None if server.exe else "redis-server"):
        yield server


PG_MISSING = None if PostgresCluster().bindir else "PostgreSQL server binaries (initdb)"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    with running(PostgresCluster(), PG_MISSING) as cluster:
        yield cluster


@pytest.fixture
def own_pg_cluster() -> Iterator[PostgresCluster]:
    """A cluster of the test's own: it goes down, which the shared one must never do. Its
    commits are durable, as in production: an immediate stop (a crash) keeps them."""
    with running(PostgresCluster(durable_commits=True), PG_MISSING) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def databases(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Databases:
    def pg() -> PostgresCluster:
        cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
        return cluster

    return LazyDatabases(tmp_path_factory.mktemp("db"), pg)


@pytest.fixture(scope="session", params=BACKENDS)
async def backend_db(request: pytest.FixtureRequest, databases: Databases) -> str:
    """One database per backend shared by the API tests (each test uses its own site)."""
    url: str = await databases.create(request.param)
    return url


@pytest.fixture(scope="session")
async def backend_store(backend_db: str) -> AsyncIterator[SqlStore]:
    store = SqlStore(backend_db)
    yield store
    await store.close()


@pytest.fixture(scope="session")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
async def asgi_app(
    backend_db: str, clock: Clock, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Any]:
    app = create_app(settings_for(backend_db, tmp_path_factory.mktemp("data")), clock=clock)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="session")
def live_server(
    backend_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    server = ServerProcess(env_for(backend_db, tmp_path_factory.mktemp("data")))
    server.start()
    try:
        yield server
    finally:
        server.terminate()


@pytest.fixture(params=["asgi", "uvicorn"])
def api_target(request: pytest.FixtureRequest) -> tuple[str, Any]:
    # Resolved here, in a sync fixture: pulling an async fixture from inside an async one
    # would re-enter the running event loop.
    if request.param == "asgi":
        return "asgi", request.getfixturevalue("asgi_app")
    return "uvicorn", request.getfixturevalue("live_server")


@pytest.fixture
async def api(
    api_target: tuple[str, Any], backend_store: SqlStore, clock: Clock
) -> AsyncIterator[Api]:
    """The JSON API, in-process and through a real uvicorn process, on both databases."""
    kind, target = api_target
    if kind == "asgi":
        transport = httpx.ASGITransport(app=target, client=("203.0.113.7", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield Api(http, backend_store, "asgi", clock)
    else:
        async with http_client(base_url=target.url, timeout=30) as http:
            yield Api(http, backend_store, "uvicorn")


@pytest.fixture
async def asgi_api(asgi_app: Any, backend_store: SqlStore, clock: Clock) -> AsyncIterator[Api]:
    """The API in-process only: for tests that move the server's clock."""
    transport = httpx.ASGITransport(app=asgi_app, client=("203.0.113.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield Api(http, backend_store, "asgi", clock)


@pytest.fixture
def time_travel(clock: Clock) -> Iterator[Clock]:
    """Move the in-process app's clock; always put it back."""
    try:
        yield clock
    finally:
        clock.offset = 0.0


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path
