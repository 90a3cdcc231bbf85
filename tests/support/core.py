"""Core's services for tests that call core directly: a real store, no live layer."""

from __future__ import annotations

from server.broker.memory import MemoryBroker
from server.core.authors import AuthorTokens
from server.core.context import Limits, Services
from server.core.ports import Store
from tests.support.config import SECRET
from tests.support.publishers import NoPublisher


def core_services(store: Store, limits: Limits | None = None) -> Services:
    """``Services`` on ``store`` with nothing published, in-process counters and the
    tests' secret."""
    return Services(
        store=store,
        publisher=NoPublisher(),
        limiter=MemoryBroker("test"),
        tokens=AuthorTokens(SECRET),
        secret=SECRET,
        limits=limits or Limits(),
    )
